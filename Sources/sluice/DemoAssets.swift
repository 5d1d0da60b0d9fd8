/// The demo's input and template, embedded so `sluice demo` works from any directory.
/// `Samples/companies.csv` and `Templates/company-profile.md` hold the same text (a test checks).
enum DemoAssets {
    static let companiesCSV = #"""
id,name,website,description
1,Acme Anvils,acme.example,"Forges drop-forged anvils, hammers and tongs for blacksmiths since 1921."
2,Brightwave Solar,brightwave.example,Designs rooftop solar kits and home batteries for suburban houses.
3,Cobalt Ledger,cobaltledger.example,"Cloud accounting for small shops: invoices, payroll, VAT returns."
4,Dune & Drift Surf Co.,dunedrift.example,"Hand-shaped surfboards, wetsuits and a surf school on the Atlantic coast."
5,Evergreen Pet Foods,evergreenpet.example,Grain-free dog and cat food made from regional farm produce.
6,Fathom Robotics,fathom.example,Underwater inspection drones for offshore wind farms and harbours.
7,Granite Health,granitehealth.example,"Telehealth clinic offering physiotherapy sessions by video, 7 days a week."
8,Harbor Freight Lines,harborfreight.example,Short-sea container shipping between Baltic ports.
9,Indigo Learning,indigolearning.example,"Maths and reading apps for primary schools, with a teacher dashboard."
10,Juniper Coffee Roasters,junipercoffee.example,"Small-batch specialty coffee roastery with two cafés and a subscription."
11,Kestrel Aerospace,kestrel.example,Builds cubesat buses and star trackers for university missions.
12,Lumen Lighting,lumen.example,"Architectural LED fittings for museums, galleries and shops."
13,Meridian Insurance Brokers,meridian.example,Brokers cargo and marine insurance for mid-size shipping firms.
14,Northwind Textiles,northwind.example,"Weaves merino blankets and throws on restored 1950s looms."
15,Orchard Analytics,orchard.example,Retail demand forecasting software sold to grocery chains.
16,Pinecrest Builders,pinecrest.example,"Timber-frame houses, renovations and loft conversions."
17,Quarry Games,quarrygames.example,"Independent studio making narrative puzzle games for PC and consoles."
18,Riverbend Dairy,riverbend.example,"Organic milk, yoghurt and cheese from a cooperative of 40 farms."
19,Sable Security,sable.example,Penetration testing and incident response for banks.
20,Tidewater Kayaks,tidewater.example,"Rents sea kayaks and runs guided trips, ""no experience needed""."

"""#

    static let companyProfileTemplate = #"""
---
# Enrich company records: a category from a fixed list, a one-line summary, and a size guess.
model: gemini-3.5-flash
tier: flex
max_output_tokens: 512
system: You classify companies for a market map. Answer only from the description given.
schema:
  type: object
  properties:
    category:
      type: string
      enum: [manufacturing, energy, software, retail, food, robotics, health, logistics, education, finance, construction, media, services]
    summary:
      type: string
      description: One sentence, at most 20 words.
    b2b:
      type: boolean
  required: [category, summary, b2b]
---
Company: {{name}} ({{website}})
Description: {{description}}

Classify this company.

"""#
}

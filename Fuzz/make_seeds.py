# Writes the seed corpora of Fuzz/Corpus (committed; rerun after changing a seed): each seed is
# one control byte (the reader options, see FuzzTarget.Control) followed by the file.
#   python3 Fuzz/make_seeds.py
import gzip, os, glob
root='Fuzz/Corpus'
def put(target, name, data, controls=(0x00,)):
    for c in controls:
        open(f'{root}/{target}/{name}-{c:02x}', 'wb').write(bytes([c]) + data[:4096])
for p in sorted(glob.glob('../shared/conformance/csv-spectrum/csvs/*.csv')):
    put('csv', os.path.basename(p)[:-4], open(p,'rb').read(), (0x00, 0x80, 0x01, 0x42))
put('csv', 'companies', open('Samples/companies.csv','rb').read(), (0x00, 0x90))
put('csv', 'r-write-csv', b'"","x","y"\n"1",3,"a,b"\n"2",4,"{""x"":3}"\n', (0x00,))
put('csv', 'semicolon', b'a;b;c\n1;"2;3";4\n', (0x00, 0x05))
for p in ('Samples/comments.jsonl', 'Samples/nightly-feed.jsonl'):
    put('jsonl', os.path.basename(p)[:-6], open(p,'rb').read(), (0x00, 0x80))
import random
random.seed(7)
# JSONTestSuite: accepted documents as a value inside a record, rejected ones as they are.
for p in sorted(glob.glob('../shared/conformance/JSONTestSuite/test_parsing/y_*.json'))[::3]:
    put('jsonl', os.path.basename(p)[:-5], b'{"v":' + open(p,'rb').read().replace(b'\n', b' ') + b'}\n', (0x00,))
for p in sorted(glob.glob('../shared/conformance/JSONTestSuite/test_parsing/[ni]_*.json'))[::12]:
    put('jsonl', os.path.basename(p)[:-5], open(p,'rb').read().replace(b'\n', b' ') + b'\n{"ok":1}\n', (0x00,))
xml = {
 'catalog': b'''<?xml version="1.0" encoding="UTF-8"?>
<!-- exported -->
<catalog xmlns="urn:example:catalog" xmlns:dc="http://purl.org/dc/elements/1.1/" version="2">
  <meta><source>erp</source></meta>
  <company id="1" status="active">
    <name>Acme &amp; Sons</name>
    <dc:description><![CDATA[Makes <anvils> & rockets]]></dc:description>
    <tag>tools</tag><tag>metal</tag>
  </company>
  <?audit checked?>
  <company id="2"><name>Glob&#233;x</name></company>
  <company id="3"/>
</catalog>
''',
 'xsd': b'''<?xml version="1.0"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xml="http://www.w3.org/XML/1998/namespace" targetNamespace="urn:t" xmlns="urn:t" elementFormDefault="qualified">
  <xs:import namespace="http://www.w3.org/XML/1998/namespace"/>
  <xs:element name="a" type="xs:string" xml:id="1bad"/>
  <xs:element name="b"><xs:complexType><xs:sequence><xs:element ref="a" maxOccurs="unbounded"/></xs:sequence></xs:complexType></xs:element>
  <xs:element name="c" xmlns=""/>
</xs:schema>
''',
 'atom': b'''<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><link href="a"/><link rel="self" href="b"/>
<entry><title>one</title><id>1</id></entry><entry><title>two</title><id>2</id></entry></feed>
''',
 'rss-items': b'''<rss version="2.0"><channel><title>x</title><item><title>a</title></item><item><title>b</title></item></channel></rss>''',
 'entities': b'''<?xml version="1.0"?><!DOCTYPE r [<!ENTITY c "Acme Corp">]><r><item><v>&c;</v></item><item><v>x</v></item></r>''',
 'latin1': '<?xml version="1.0" encoding="ISO-8859-1"?><r><item a="\u00e9">caf\u00e9</item><item/></r>'.encode('latin-1'),
}
for k, v in xml.items():
    put('xml', k, v, (0x00, 0x01, 0x81, 0x04, 0x05, 0x03))
for k, v in list(xml.items())[:3]:
    put('gzip', 'xml-' + k, gzip.compress(v), (0x00, 0x80))
put('gzip', 'csv', gzip.compress(open('Samples/companies.csv','rb').read()[:3000]), (0x00,))
put('gzip', 'jsonl-2members', gzip.compress(b'{"a":1}\n') + gzip.compress(b'{"a":2}\n'), (0x00, 0x80))
put('gzip', 'truncated', gzip.compress(b'{"a":1}\n' * 50)[:-9], (0x00,))

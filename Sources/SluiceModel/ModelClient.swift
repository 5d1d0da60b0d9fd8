/// A model service the Engine sends requests to: the one seam between the job and a provider.
/// The CLI builds a concrete client (Gemini today) and hands it over; the Engine never names
/// the provider, its wire format or its flags.
public protocol ModelClient: Sendable {
    /// Sends one request and waits for its answer (minutes on Flex). Failures are classified
    /// values, never thrown: the dispatcher decides from the kind what happens next.
    func generate(_ request: GenerationRequest) async -> Result<GenerationResult, ModelError>

    /// Counts a request's input tokens exactly; nil when the provider has no such call.
    func countTokens(_ request: GenerationRequest) async -> Result<Int, ModelError>?

    /// What answers depend on beside the request (the API surface…), as name/value pairs: part
    /// of the job's fingerprint, so a journal is never resumed against another surface.
    var identity: [(String, String)] { get }
}

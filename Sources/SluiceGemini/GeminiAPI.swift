import SluiceModel

/// The two API surfaces Sluice can call.
public enum GeminiAPI: String, Sendable, CaseIterable {
    case interactions
    case generateContent = "generate-content"
}

import SluiceFormats
import SluiceJSON

/// Turns a record into what is sent for it, once: the variables checked, the prompt rendered,
/// its hash (the dedupe key and the journal's record of what was sent). The preflight, pass 1
/// and the dry run all go through it.
struct PromptStage: Sendable {
    let template: PromptTemplate

    enum Prepared {
        /// `hash`: the prompt's stable hash.
        case prompt(String, hash: String)
        /// The record lacks these template variables.
        case missing([String])
    }

    func prepare(_ record: Record) -> Prepared {
        let missing = template.missingVariables(in: record)
        guard missing.isEmpty else { return .missing(missing) }
        let prompt = template.render(record)
        return .prompt(prompt, hash: StableHash.hex(prompt))
    }
}

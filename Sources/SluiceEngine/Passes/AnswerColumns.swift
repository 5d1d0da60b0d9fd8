import SluiceJSON
import SluiceJournal

/// A record's new fields from its journaled outcome: the answer column, or with a schema one
/// column per top-level property (nested values native in JSON Lines, JSON text in CSV); then
/// the error column (tabular outputs: always present, empty when fine; others: only on failure).
struct AnswerColumns {
    let answerColumns: [String]
    let errorColumn: String
    let schemaColumns: Bool
    let tabular: Bool

    init(options: JobConfiguration) {
        answerColumns = options.answerColumns
        errorColumn = options.output.errorColumn
        schemaColumns = options.prompt.schema?["properties"]?.objectValue != nil
        tabular = options.output.format.isTabular
    }

    /// Every new column, in order.
    var names: [String] { answerColumns + [errorColumn] }

    func apply(_ outcome: Journal.Outcome, to fields: inout JSONObject) {
        guard outcome.state == .done, let answer = outcome.answer else {
            for column in answerColumns { fields[column] = tabular ? .string("") : .null }
            fields[errorColumn] = .string(outcome.error ?? "failed")
            return
        }
        if schemaColumns, case .object(let object)? = try? JSONParser.parse(answer) {
            for column in answerColumns { fields[column] = object[column] ?? (tabular ? .string("") : .null) }
        } else {
            fields[answerColumns[0]] = schemaColumns ? ((try? JSONParser.parse(answer)) ?? .string(answer)) : .string(answer)
        }
        fields[errorColumn] = tabular ? .string("") : nil
    }
}

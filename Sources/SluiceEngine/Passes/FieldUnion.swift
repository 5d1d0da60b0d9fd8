/// Field names in first-seen order across records: the columns of a tabular output written
/// from records that need not share their fields.
struct FieldUnion {
    private(set) var names: [String]
    private var seen: Set<String>

    init(_ names: [String]) {
        self.names = names
        seen = Set(names)
    }

    mutating func add(_ fields: some Sequence<(key: String, value: some Any)>) {
        for (key, _) in fields where !seen.contains(key) {
            seen.insert(key)
            names.append(key)
        }
    }
}

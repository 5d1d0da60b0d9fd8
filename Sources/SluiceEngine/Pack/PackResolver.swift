import SluiceModel

/// Resolves several records with one request (`PackLayout`), then each on its own: an item the
/// answer leaves out, duplicates or spoils goes again in a smaller pack, at last alone; a pack
/// that fails as a whole (refused as too long, cut at `MAX_TOKENS`, not JSON, given up) splits
/// in half. A record alone is sent exactly as without packing. The pack's tokens are shared out
/// among its records, so the journal and the report still add up to what was billed.
struct PackResolver: Sendable {
    let dispatcher: Dispatcher
    let layout: PackLayout
    let counters: RunCounters

    /// One record of a pack: its whole prompt (sent when it goes alone) and its item input.
    struct Member: Sendable {
        let prompt: String
        let item: String
    }

    /// The members' resolutions, in their order.
    func resolve(_ members: [Member]) async -> [Dispatcher.Resolution] {
        if members.count == 1 { return [await dispatcher.attempts(prompt: members[0].prompt)] }
        let resolution = await dispatcher.attempts(request(for: members))
        counters.update {
            $0.packs += 1
            $0.packedRecords += members.count
        }
        switch resolution {
        case .pending:
            return members.map { _ in .pending }
        case .failed(_, _, let wasted):
            counters.update { $0.resentItems += members.count }
            return Self.charge(Self.shares(of: wasted, among: members.count), to: await halves(members))
        case .answered(let result, let attempts, let wasted, let tier, _):
            return await taken(apart: result, attempts: attempts, wasted: wasted, tier: tier, members)
        }
    }

    func request(for members: [Member]) -> GenerationRequest {
        var request = dispatcher.prototype
        request.prompt = layout.prompt(members.enumerated().map { PackLayout.Item(id: String($0.offset + 1), input: $0.element.item) })
        request.schema = layout.schema
        request.checksSchema = false
        return request
    }

    /// Each item's answer becomes its record's; the rest go again in packs half this size.
    func taken(apart result: GenerationResult, attempts: Int, wasted: TokenUsage, tier: ServiceTier, _ members: [Member]) async -> [Dispatcher.Resolution] {
        let ids = members.indices.map { String($0 + 1) }
        let split = layout.split(result.text, ids: ids)
        let usage = Self.shares(of: result.usage, among: members.count)
        let waste = Self.shares(of: wasted, among: members.count)
        var out: [Dispatcher.Resolution?] = Array(repeating: nil, count: members.count)
        var again: [Int] = []
        for (i, id) in ids.enumerated() {
            if let text = split.answers[id] {
                let answer = GenerationResult(text: text, completion: .complete, usage: usage[i], servedTier: result.servedTier, hops: result.hops)
                out[i] = .answered(answer, attempts: attempts, wasted: waste[i], tier: tier, shared: false)
            } else {
                again.append(i)
            }
        }
        if !again.isEmpty {
            counters.update { $0.resentItems += again.count }
            let size = max(1, members.count / 2)
            let chunks = stride(from: 0, to: again.count, by: size).map { Array(again[$0..<min($0 + size, again.count)]) }
            // The tokens the spoiled items took in this pack are charged to their later answers.
            let resolved = await withTaskGroup(of: (Int, [Dispatcher.Resolution]).self) { group in
                for (c, chunk) in chunks.enumerated() {
                    group.addTask { (c, await resolve(chunk.map { members[$0] })) }
                }
                var byChunk: [Int: [Dispatcher.Resolution]] = [:]
                for await (c, resolutions) in group { byChunk[c] = resolutions }
                return byChunk
            }
            for (c, chunk) in chunks.enumerated() {
                for (j, i) in chunk.enumerated() {
                    out[i] = Self.charge([usage[i] + waste[i]], to: [resolved[c]![j]])[0]
                }
            }
        }
        return out.map { $0! }
    }

    /// The two halves, resolved side by side.
    func halves(_ members: [Member]) async -> [Dispatcher.Resolution] {
        let middle = members.count / 2
        async let first = resolve(Array(members[..<middle]))
        async let second = resolve(Array(members[middle...]))
        return await first + second
    }

    /// `usage` shared out as evenly as whole tokens allow (the first ones take the remainders).
    static func shares(of usage: TokenUsage, among n: Int) -> [TokenUsage] {
        func part(_ total: Int, _ i: Int) -> Int { total / n + (i < total % n ? 1 : 0) }
        return (0..<n).map { i in
            TokenUsage(input: part(usage.input, i), output: part(usage.output, i), thought: part(usage.thought, i), cached: part(usage.cached, i))
        }
    }

    /// Adds tokens spent on a record's behalf (in a pack that did not answer it) to its outcome.
    static func charge(_ extra: [TokenUsage], to resolutions: [Dispatcher.Resolution]) -> [Dispatcher.Resolution] {
        zip(extra, resolutions).map { extra, resolution in
            switch resolution {
            case .answered(let result, let attempts, let wasted, let tier, let shared):
                .answered(result, attempts: attempts, wasted: wasted + extra, tier: tier, shared: shared)
            case .failed(let error, let attempts, let wasted):
                .failed(error, attempts: attempts, wasted: wasted + extra)
            case .pending:
                .pending
            }
        }
    }
}

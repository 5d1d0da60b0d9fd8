extension Duration {
    /// The duration in (fractional) seconds: what timers, rate windows and reports compute with.
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

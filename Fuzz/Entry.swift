import SluiceFuzz

/// libFuzzer's entry: `fuzz.sh` compiles this file once per target with `-D FUZZ_<TARGET>`.
#if FUZZ_CSV
let target = FuzzTarget.csv
#elseif FUZZ_JSONL
let target = FuzzTarget.jsonl
#elseif FUZZ_XML
let target = FuzzTarget.xml
#else
let target = FuzzTarget.gzip
#endif

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    target.run(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

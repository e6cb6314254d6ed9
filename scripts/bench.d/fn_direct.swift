// The reference for `scripts/bench fn`: a direct Swift loop calling libm's cbrt over a float64
// column built the way the C sequence source builds it (1, 2, 3, ... in batches of 4096),
// writing into an output column. Only the loops are timed.
//
//   swiftc -O -o fn-direct scripts/bench.d/fn_direct.swift && ./fn-direct SECONDS
// prints: rows seconds checksum
import Glibc

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

let seconds = CommandLine.arguments.count > 1 ? Double(CommandLine.arguments[1]) ?? 3 : 3
let batch = 4096
let column = UnsafeMutablePointer<Double>.allocate(capacity: batch)
let output = UnsafeMutablePointer<Double>.allocate(capacity: batch)
var rows = 0, first = 1
var timed = 0.0, checksum = 0.0
let start = now()
while now() - start < seconds {
    for i in 0..<batch { column[i] = Double(first + i) }
    first += batch
    let t0 = now()
    for i in 0..<batch { output[i] = cbrt(column[i]) }
    timed += now() - t0
    checksum += output[batch - 1]
    rows += batch
}
print(rows, timed, checksum)

/// Parses ISO-8601 / RFC 3339 times straight from bytes: `2025-11-26T10:00:00Z`,
/// `2025-11-26 10:00:00.123+01:00`, `2025-11-26T10:00:00.123456`, or a date alone. Without a
/// zone the time is UTC. Pure; any thread.
enum ISO8601 {
    /// Milliseconds since the epoch, or nil when the text is not such a time.
    static func milliseconds(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int64? {
        var i = 0
        func digits(_ count: Int) -> Int? {
            guard i + count <= n else { return nil }
            var value = 0
            for k in 0..<count {
                let b = p[i + k]
                guard b >= 48 && b <= 57 else { return nil }
                value = value * 10 + Int(b - 48)
            }
            i += count
            return value
        }
        func expect(_ c: UInt8) -> Bool {
            guard i < n, p[i] == c else { return false }
            i += 1
            return true
        }
        guard let year = digits(4), expect(UInt8(ascii: "-")), let month = digits(2), expect(UInt8(ascii: "-")),
              let day = digits(2), (1...12).contains(month), (1...daysIn(month, year)).contains(day) else { return nil }
        var ms = Int64(daysFromCivil(year, month, day)) * 86_400_000
        if i == n { return ms }
        guard expect(UInt8(ascii: "T")) || expect(UInt8(ascii: "t")) || expect(UInt8(ascii: " ")) else { return nil }
        guard let hour = digits(2), expect(UInt8(ascii: ":")), let minute = digits(2), expect(UInt8(ascii: ":")),
              let second = digits(2), hour < 24, minute < 60, second < 61 else { return nil }
        ms += Int64(hour * 3_600_000 + minute * 60_000 + second * 1000)
        if i < n && (p[i] == UInt8(ascii: ".") || p[i] == UInt8(ascii: ",")) {
            i += 1
            var fraction = 0, places = 0
            while i < n, p[i] >= 48, p[i] <= 57 {
                if places < 3 { fraction = fraction * 10 + Int(p[i] - 48); places += 1 }
                i += 1
            }
            guard places > 0 else { return nil }
            while places < 3 { fraction *= 10; places += 1 }
            ms += Int64(fraction)
        }
        if i == n { return ms }
        if expect(UInt8(ascii: "Z")) || expect(UInt8(ascii: "z")) { return i == n ? ms : nil }
        guard i < n, p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: "-") else { return nil }
        let sign: Int64 = p[i] == UInt8(ascii: "-") ? -1 : 1
        i += 1
        guard let offsetHours = digits(2) else { return nil }
        _ = expect(UInt8(ascii: ":"))
        guard let offsetMinutes = digits(2), i == n, offsetHours < 24, offsetMinutes < 60 else { return nil }
        return ms - sign * Int64(offsetHours * 3_600_000 + offsetMinutes * 60_000)
    }

    private static func daysIn(_ month: Int, _ year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(_ year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}

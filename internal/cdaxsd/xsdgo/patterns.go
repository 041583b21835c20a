package xsdgo

// knownPatterns are hand-written matchers for the pattern facets of the HL7
// datatypes (bl, cs, oid, uuid, ruid, ts): each is checked equal to RE2 on
// the pattern by TestKnownPatterns, and is ~10× cheaper, which counts
// because every code, OID and timestamp attribute of a document meets one.
var knownPatterns = map[string]func(string) bool{
	`true|false`: func(v string) bool { return v == "true" || v == "false" },
	`[^\s]+`: func(v string) bool {
		if v == "" {
			return false
		}
		for i := 0; i < len(v); i++ {
			switch v[i] {
			case ' ', '\t', '\n', '\r', '\f':
				return false
			}
		}
		return true
	},
	`[0-2](\.(0|[1-9][0-9]*))*`: func(v string) bool {
		if v == "" || v[0] < '0' || v[0] > '2' {
			return false
		}
		for i := 1; i < len(v); {
			if v[i] != '.' || i+1 >= len(v) {
				return false
			}
			i++
			if v[i] == '0' {
				i++
			} else {
				start := i
				for i < len(v) && isDigit(v[i]) {
					i++
				}
				if i == start || v[start] == '0' {
					return false
				}
			}
			if i < len(v) && v[i] != '.' {
				return false
			}
		}
		return true
	},
	`[0-9a-zA-Z]{8}-[0-9a-zA-Z]{4}-[0-9a-zA-Z]{4}-[0-9a-zA-Z]{4}-[0-9a-zA-Z]{12}`: func(v string) bool {
		if len(v) != 36 {
			return false
		}
		for i := 0; i < len(v); i++ {
			if i == 8 || i == 13 || i == 18 || i == 23 {
				if v[i] != '-' {
					return false
				}
			} else if !isAlnum(v[i]) {
				return false
			}
		}
		return true
	},
	`[A-Za-z][A-Za-z0-9\-]*`: func(v string) bool {
		if v == "" || !isAlpha(v[0]) {
			return false
		}
		for i := 1; i < len(v); i++ {
			if !isAlnum(v[i]) && v[i] != '-' {
				return false
			}
		}
		return true
	},
	`[0-9]{1,8}|([0-9]{9,14}|[0-9]{14,14}\.[0-9]+)([+\-][0-9]{1,4})?`: func(v string) bool {
		i := 0
		for i < len(v) && isDigit(v[i]) {
			i++
		}
		digits := i
		if digits == 0 {
			return false
		}
		if i == len(v) {
			return digits <= 14
		}
		if digits <= 8 {
			return false
		}
		if v[i] == '.' {
			if digits != 14 {
				return false
			}
			i++
			start := i
			for i < len(v) && isDigit(v[i]) {
				i++
			}
			if i == start {
				return false
			}
		} else if digits > 14 {
			return false
		}
		if i == len(v) {
			return true
		}
		if v[i] != '+' && v[i] != '-' {
			return false
		}
		i++
		n := len(v) - i
		if n < 1 || n > 4 {
			return false
		}
		for ; i < len(v); i++ {
			if !isDigit(v[i]) {
				return false
			}
		}
		return true
	},
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isAlnum(c byte) bool { return isDigit(c) || isAlpha(c) }

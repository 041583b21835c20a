package cdaxsd

// SetFast switches the streaming first pass (benchmarks compare both).
func SetFast(on bool) (was bool) { was, fast = fast, on; return was }

package cdaxsd

// SetFast switches the streaming first pass (benchmarks compare both).
func SetFast(on bool) (was bool) { was, fast = fast, on; return was }

// SetGo switches the pure-Go verdict on valid documents (libxml2 alone when off).
func SetGo(on bool) (was bool) { was, useGo = useGo, on; return was }

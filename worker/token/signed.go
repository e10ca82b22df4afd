package token

// AppendSignedURL appends the exact bytes Vast's PyWorker (1.1.0) verifies
// the route signature over: Python's
// json.dumps({"url": url}, indent=4, sort_keys=True), that is
// "{\n    \"url\": \"<url>\"\n}" with Python's default escaping
// (ensure_ascii: every non-ASCII rune as \uXXXX, surrogate pairs above the
// BMP; '/' not escaped; control characters as \n, \r, \t, \b, \f or
// \u00XX).
func AppendSignedURL(dst []byte, url string) []byte {
	dst = append(dst, "{\n    \"url\": \""...)
	dst = appendPyString(dst, url)
	return append(dst, "\"\n}"...)
}

// appendPyString appends s escaped as Python's json module does with
// ensure_ascii=True (without the quotes).
func appendPyString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	for _, r := range s {
		switch {
		case r == '"':
			dst = append(dst, '\\', '"')
		case r == '\\':
			dst = append(dst, '\\', '\\')
		case r == '\n':
			dst = append(dst, '\\', 'n')
		case r == '\r':
			dst = append(dst, '\\', 'r')
		case r == '\t':
			dst = append(dst, '\\', 't')
		case r == '\b':
			dst = append(dst, '\\', 'b')
		case r == '\f':
			dst = append(dst, '\\', 'f')
		case r < 0x20 || (r >= 0x7f && r < 0x10000):
			dst = append(dst, '\\', 'u', hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
		case r >= 0x10000:
			r -= 0x10000
			hi, lo := 0xd800+(r>>10), 0xdc00+(r&0x3ff)
			dst = append(dst, '\\', 'u')
			dst = append(dst, hex[hi>>12&0xf], hex[hi>>8&0xf], hex[hi>>4&0xf], hex[hi&0xf])
			dst = append(dst, '\\', 'u')
			dst = append(dst, hex[lo>>12&0xf], hex[lo>>8&0xf], hex[lo>>4&0xf], hex[lo&0xf])
		default:
			dst = append(dst, byte(r))
		}
	}
	return dst
}

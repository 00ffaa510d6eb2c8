/* vint.h - Cassandra's unsigned variable-length integers (VIntCoding).
 *
 * The count of leading one bits in the first byte is the number of extra
 * bytes (0..8); the rest of the first byte holds the value's high bits and
 * the extra bytes follow big-endian. Nine bytes carry a full 64-bit value,
 * which is how negative deltas are written. */
#ifndef CDCTAIL_VINT_H
#define CDCTAIL_VINT_H

#include <stddef.h>
#include <stdint.h>

/* Decodes one unsigned vint from p[0..len). Returns the bytes used (1..9),
 * or 0 when the buffer ends inside the number. */
static inline size_t cdc_uvint(const uint8_t *p, size_t len, uint64_t *out)
{
	unsigned extra, i;
	uint64_t v;

	if (len == 0)
		return 0;
	if (p[0] < 0x80) {
		*out = p[0];
		return 1;
	}
	extra = p[0] == 0xff ? 8 : (unsigned)__builtin_clz(~(unsigned)p[0] << 24);
	if (len < 1 + (size_t)extra)
		return 0;
	v = extra == 8 ? 0 : (uint64_t)(p[0] & (0xffu >> extra));
	for (i = 1; i <= extra; i++)
		v = v << 8 | p[i];
	*out = v;
	return 1 + extra;
}

#endif

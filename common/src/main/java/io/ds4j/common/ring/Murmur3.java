package io.ds4j.common.ring;

/**
 * MurmurHash3 x86_32 with seed 0: the hash the upstream hash ring places keys with (spec: hash = Murmur3_32(key bytes,
 * seed 0) over a uint32 ring). Results are returned as the raw 32 bits in an {@code int}; use {@link #unsigned(int)}
 * for the ring position 0..2^32-1.
 */
public final class Murmur3
{
    private static final int C1 = 0xcc9e2d51;
    private static final int C2 = 0x1b873593;

    private Murmur3()
    {
    }

    /** MurmurHash3 x86_32, seed 0, of all of {@code data}. */
    public static int hash32(final byte[] data)
    {
        final int length = data.length;
        final int blockEnd = length & ~3;
        int h = 0;
        for (int i = 0; i < blockEnd; i += 4)
        {
            final int k = (data[i] & 0xff)
                | (data[i + 1] & 0xff) << 8
                | (data[i + 2] & 0xff) << 16
                | (data[i + 3] & 0xff) << 24;
            h = mixH(h, k);
        }
        int tail = 0;
        switch (length & 3)
        {
            case 3:
                tail ^= (data[blockEnd + 2] & 0xff) << 16;
                // fall through
            case 2:
                tail ^= (data[blockEnd + 1] & 0xff) << 8;
                // fall through
            case 1:
                tail ^= data[blockEnd] & 0xff;
                h ^= mixK(tail);
                break;
            default:
                break;
        }
        return finish(h, length);
    }

    /**
     * MurmurHash3 x86_32, seed 0, of the UTF-8 encoding of {@code key}, equal to {@code hash32(key.getBytes(UTF_8))}
     * (unpaired surrogates encode as {@code '?'}, as {@link String#getBytes} does). The bytes are produced on the fly
     * because this sits on every request's routing path and must not allocate.
     */
    public static int hash32(final String key)
    {
        final int chars = key.length();
        int h = 0;
        // Little-endian block being filled, how many bytes it holds, and the total byte count for the finaliser.
        int block = 0;
        int filled = 0;
        int total = 0;
        for (int i = 0; i < chars; i++)
        {
            final char c = key.charAt(i);
            int codePoint = c;
            if (Character.isHighSurrogate(c) && i + 1 < chars && Character.isLowSurrogate(key.charAt(i + 1)))
            {
                codePoint = Character.toCodePoint(c, key.charAt(i + 1));
                i++;
            }
            else if (Character.isSurrogate(c))
            {
                codePoint = '?';
            }
            // Encode into up to 4 bytes, packed lowest byte first so they can be fed in order.
            final int encoded;
            final int count;
            if (codePoint < 0x80)
            {
                encoded = codePoint;
                count = 1;
            }
            else if (codePoint < 0x800)
            {
                encoded = (0xc0 | codePoint >>> 6) | (0x80 | codePoint & 0x3f) << 8;
                count = 2;
            }
            else if (codePoint < 0x10000)
            {
                encoded = (0xe0 | codePoint >>> 12)
                    | (0x80 | codePoint >>> 6 & 0x3f) << 8
                    | (0x80 | codePoint & 0x3f) << 16;
                count = 3;
            }
            else
            {
                encoded = (0xf0 | codePoint >>> 18)
                    | (0x80 | codePoint >>> 12 & 0x3f) << 8
                    | (0x80 | codePoint >>> 6 & 0x3f) << 16
                    | (0x80 | codePoint & 0x3f) << 24;
                count = 4;
            }
            for (int b = 0; b < count; b++)
            {
                block |= (encoded >>> (8 * b) & 0xff) << (8 * filled);
                filled++;
                if (filled == 4)
                {
                    h = mixH(h, block);
                    block = 0;
                    filled = 0;
                }
            }
            total += count;
        }
        if (filled > 0)
        {
            h ^= mixK(block);
        }
        return finish(h, total);
    }

    /** The hash as a ring position, 0..2^32-1. */
    public static long unsigned(final int hash)
    {
        return Integer.toUnsignedLong(hash);
    }

    private static int mixK(final int k)
    {
        return Integer.rotateLeft(k * C1, 15) * C2;
    }

    private static int mixH(final int h, final int k)
    {
        return Integer.rotateLeft(h ^ mixK(k), 13) * 5 + 0xe6546b64;
    }

    private static int finish(final int h, final int length)
    {
        int f = h ^ length;
        f ^= f >>> 16;
        f *= 0x85ebca6b;
        f ^= f >>> 13;
        f *= 0xc2b2ae35;
        f ^= f >>> 16;
        return f;
    }
}

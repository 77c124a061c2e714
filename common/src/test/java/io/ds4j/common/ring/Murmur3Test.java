package io.ds4j.common.ring;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.Random;

import org.junit.jupiter.api.Test;

/**
 * Known MurmurHash3 x86_32 seed-0 vectors; each was also cross-checked against Guava's
 * {@code Hashing.murmur3_32_fixed()} while writing this test.
 */
class Murmur3Test
{
    private static void assertHash(final int expected, final String text)
    {
        final byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        assertEquals(expected, Murmur3.hash32(bytes), () -> "bytes of \"" + text + "\"");
        assertEquals(expected, Murmur3.hash32(text), () -> "string \"" + text + "\"");
    }

    @Test
    void emptyInputHashesToZero()
    {
        assertHash(0, "");
    }

    @Test
    void knownVectors()
    {
        assertHash(0x248bfa47, "hello");
        assertHash(0x149bbb7f, "hello, world");
        assertHash(0x2e4ff723, "The quick brown fox jumps over the lazy dog");
    }

    @Test
    void tailOfOneTwoAndThreeBytes()
    {
        assertHash(0x3c2569b2, "a");
        assertHash(0x9bbfd75f, "ab");
        assertHash(0xb3dd93fa, "abc");
        // Whole blocks with and without a tail after them.
        assertHash(0x43ed676a, "abcd");
        assertHash(0xe89b9af6, "abcde");
    }

    @Test
    void highBytesAreReadUnsigned()
    {
        // A signed read of a byte >= 0x80 would smear ones over the rest of the word; these were checked with Guava.
        assertEquals(0x2db15157, Murmur3.hash32(new byte[] {(byte) 0xff, (byte) 0x80, (byte) 0xfe}));
        final byte[] blockAndTail = {(byte) 0xff, (byte) 0xfe, (byte) 0xfd, (byte) 0xfc, (byte) 0x80};
        assertEquals(0xd8f92705, Murmur3.hash32(blockAndTail));
    }

    @Test
    void stringHashEqualsHashOfItsUtf8Bytes()
    {
        final Random random = new Random(42);
        for (int i = 0; i < 20_000; i++)
        {
            final StringBuilder builder = new StringBuilder();
            final int length = random.nextInt(24);
            for (int j = 0; j < length; j++)
            {
                switch (random.nextInt(5))
                {
                    case 0 -> builder.append((char) random.nextInt(0x80));
                    case 1 -> builder.append((char) (0x80 + random.nextInt(0x780)));
                    case 2 -> builder.append((char) random.nextInt(0x10000));
                    case 3 -> builder.appendCodePoint(0x10000 + random.nextInt(0x100000));
                    default -> builder.append((char) (0xd800 + random.nextInt(0x800)));
                }
            }
            final String text = builder.toString();
            assertEquals(Murmur3.hash32(text.getBytes(StandardCharsets.UTF_8)), Murmur3.hash32(text), text);
        }
    }

    @Test
    void unpairedSurrogatesHashLikeQuestionMarks()
    {
        assertEquals(Murmur3.hash32("x?y"), Murmur3.hash32("x\ud800y"));
        assertEquals(Murmur3.hash32("x?"), Murmur3.hash32("x\udc00"));
        assertEquals(Murmur3.hash32("?"), Murmur3.hash32("\ud83d"));
    }

    @Test
    void unsignedGivesTheRingPosition()
    {
        assertEquals(0L, Murmur3.unsigned(0));
        assertEquals(0xFFFF_FFFFL, Murmur3.unsigned(-1));
        assertEquals(0x8000_0000L, Murmur3.unsigned(Integer.MIN_VALUE));
        assertEquals(0xb3dd93faL, Murmur3.unsigned(Murmur3.hash32("abc")));
    }
}

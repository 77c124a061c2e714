package io.ds4j.worker.store.spill;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import java.util.zip.CRC32C;

import org.junit.jupiter.api.Test;

/** Tests of {@link ChunkedChecksum}: CRC combination and the reader/helper split of the work. */
class ChunkedChecksumTest
{
    private static int crc(final MemorySegment segment)
    {
        final CRC32C crc = new CRC32C();
        crc.update(segment.asByteBuffer());
        return (int) crc.getValue();
    }

    private static MemorySegment random(final Arena arena, final long size, final long seed)
    {
        final MemorySegment segment = arena.allocate(size);
        final byte[] bytes = new byte[(int) size];
        new SplittableRandom(seed).nextBytes(bytes);
        MemorySegment.copy(MemorySegment.ofArray(bytes), 0, segment, 0, size);
        return segment;
    }

    @Test
    void combineMatchesTheCrcOfTheConcatenation()
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment data = random(arena, 70_001, 1);
            final SplittableRandom random = new SplittableRandom(2);
            for (int i = 0; i < 200; i++)
            {
                final long split = i < 3 ? new long[] {0, 1, data.byteSize()}[i] : random.nextLong(data.byteSize());
                final int a = crc(data.asSlice(0, split));
                final int b = crc(data.asSlice(split));
                assertEquals(crc(data), ChunkedChecksum.combine(a, b, data.byteSize() - split), "split at " + split);
            }
        }
    }

    @Test
    void readerAloneComputesTheWholeChecksum()
    {
        try (Arena arena = Arena.ofShared())
        {
            final MemorySegment data = random(arena, 5 * 4096 + 17, 3);
            final ChunkedChecksum checksum = new ChunkedChecksum(data, 4096);
            for (int i = 0; i < 6; i++)
            {
                checksum.chunkFilled(i);
            }
            assertEquals(crc(data), checksum.finish());
            checksum.run();
        }
    }

    @Test
    void readerAndHelperShareTheWork() throws InterruptedException
    {
        try (Arena arena = Arena.ofShared())
        {
            for (int round = 0; round < 20; round++)
            {
                final long chunk = 64 * 1024;
                final MemorySegment data = random(arena, 40 * chunk + round, round);
                final ChunkedChecksum checksum = new ChunkedChecksum(data, chunk);
                final Thread helper = Thread.ofPlatform().start(checksum);
                final int chunks = (int) ((data.byteSize() + chunk - 1) / chunk);
                for (int i = 0; i < chunks; i++)
                {
                    if (i % 7 == round % 7)
                    {
                        Thread.sleep(0, 50_000);
                    }
                    checksum.chunkFilled(i);
                }
                assertEquals(crc(data), checksum.finish(), "round " + round);
                helper.join();
            }
        }
    }

    @Test
    void abandonStopsTheHelper() throws InterruptedException
    {
        try (Arena arena = Arena.ofShared())
        {
            final MemorySegment data = random(arena, 32 * 4096, 5);
            final ChunkedChecksum checksum = new ChunkedChecksum(data, 4096);
            final Thread helper = Thread.ofPlatform().start(checksum);
            checksum.chunkFilled(0);
            checksum.chunkFilled(1);
            checksum.abandon();
            helper.join(5000);
            assertFalse(helper.isAlive());
        }
    }

    @Test
    void confinedSegmentsAreNotShared()
    {
        try (Arena confined = Arena.ofConfined(); Arena shared = Arena.ofShared())
        {
            assertFalse(ChunkedChecksum.canHelp(confined.allocate(16)));
            assertTrue(ChunkedChecksum.canHelp(shared.allocate(16)));
            assertTrue(ChunkedChecksum.canHelp(MemorySegment.ofArray(new byte[16])));
        }
    }
}

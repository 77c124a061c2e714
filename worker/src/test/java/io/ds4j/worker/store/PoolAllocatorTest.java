package io.ds4j.worker.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import org.junit.jupiter.api.Test;

/** Unit tests for {@link PoolAllocator}: geometry, exhaustion, coalescing, misuse detection and a randomized soak. */
class PoolAllocatorTest
{
    private static final long KIB = 1024;
    private static final long MIB = 1024 * KIB;
    private static final long GIB = 1024 * MIB;
    private static final int ALIGN = 64;

    /** A live allocation as the test sees it. */
    private record Block(long offset, long size)
    {
    }

    private static long round(final long size, final int alignment)
    {
        return (size + alignment - 1) / alignment * alignment;
    }

    private static void assertAllFree(final PoolAllocator allocator)
    {
        allocator.checkInvariants();
        assertEquals(0, allocator.used());
        assertEquals(allocator.capacity(), allocator.largestFreeRun());
        assertEquals(1, allocator.freeRunCount());
        assertEquals(0, allocator.reserved());
        allocator.checkInvariants();
    }

    @Test
    void constructorRejectsBadArguments()
    {
        assertThrows(IllegalArgumentException.class, () -> new PoolAllocator(MIB, 4));
        assertThrows(IllegalArgumentException.class, () -> new PoolAllocator(MIB, 48));
        assertThrows(IllegalArgumentException.class, () -> new PoolAllocator(0, ALIGN));
        assertThrows(IllegalArgumentException.class, () -> new PoolAllocator(32, ALIGN));
        final PoolAllocator odd = new PoolAllocator(MIB + 100, ALIGN);
        assertEquals(MIB + 64, odd.capacity());
        assertEquals(MIB + 64, odd.largestFreeRun());
    }

    @Test
    void allocateRejectsNonPositiveSizes()
    {
        final PoolAllocator allocator = new PoolAllocator(MIB, ALIGN);
        assertThrows(IllegalArgumentException.class, () -> allocator.allocate(0));
        assertThrows(IllegalArgumentException.class, () -> allocator.allocate(-5));
        assertThrows(IllegalArgumentException.class, () -> allocator.free(0, 0));
        assertEquals(PoolAllocator.NO_SPACE, allocator.allocate(MIB + 1));
        assertEquals(PoolAllocator.NO_SPACE, allocator.allocate(Long.MAX_VALUE));
    }

    @Test
    void offsetsAreAlignedAndSizesRounded()
    {
        for (final int alignment : new int[] {8, 64, 4096})
        {
            final PoolAllocator allocator = new PoolAllocator(256 * MIB, alignment);
            final long[] sizes = {1, 7, 8, 9, 63, 64, 65, 100, 164, 1000, 1025, 5000, 16 * KIB, 16 * KIB + 1,
                100_000, MIB + 1, 3 * MIB + 17};
            final List<Block> live = new ArrayList<>();
            long expectedUsed = 0;
            for (final long size : sizes)
            {
                final long offset = allocator.allocate(size);
                assertTrue(offset >= 0, "allocate " + size);
                assertEquals(0, offset % alignment, "offset " + offset + " for size " + size);
                final long rounded = round(size, alignment);
                final long block = allocator.blockSize(size);
                assertEquals(0, block % alignment);
                assertTrue(block >= rounded, "block " + block + " < rounded " + rounded);
                assertTrue(block <= rounded + rounded / 8, "size class too coarse for " + size + ": " + block);
                expectedUsed += rounded;
                assertEquals(expectedUsed, allocator.used());
                assertTrue(allocator.reserved() >= allocator.used());
                live.add(new Block(offset, size));
            }
            assertNoOverlap(allocator, live);
            allocator.checkInvariants();
            for (final Block b : live)
            {
                allocator.free(b.offset(), b.size());
            }
            assertAllFree(allocator);
        }
    }

    @Test
    void blockSizeOfSmallRequestsIsTight()
    {
        final PoolAllocator allocator = new PoolAllocator(GIB, ALIGN);
        assertEquals(192, allocator.blockSize(164));
        assertEquals(64, allocator.blockSize(1));
        assertEquals(1024, allocator.blockSize(1000));
        for (long size = 1; size <= 64 * KIB; size += 13)
        {
            final long rounded = round(size, ALIGN);
            final long block = allocator.blockSize(size);
            assertTrue(block >= rounded && block <= rounded + rounded / 8, "size " + size + " block " + block);
            if (rounded <= KIB)
            {
                assertEquals(rounded, block, "below 1 KiB classes are spaced by the alignment");
            }
        }
        final long[] classes = PoolAllocator.classSizes(ALIGN);
        assertEquals(PoolAllocator.SMALL_LIMIT, classes[classes.length - 1]);
        for (int i = 1; i < classes.length; i++)
        {
            assertTrue(classes[i] > classes[i - 1]);
        }
    }

    @Test
    void smallAllocationsFillThePoolThenFailAndFreeBackToOneRun()
    {
        final long capacity = 8 * MIB + 100 * KIB;
        final PoolAllocator allocator = new PoolAllocator(capacity, ALIGN);
        final List<Block> live = new ArrayList<>();
        while (true)
        {
            final long offset = allocator.allocate(164);
            if (offset < 0)
            {
                break;
            }
            live.add(new Block(offset, 164));
        }
        assertEquals(PoolAllocator.NO_SPACE, allocator.allocate(164));
        assertEquals(PoolAllocator.NO_SPACE, allocator.allocate(100));
        assertEquals(192L * live.size(), allocator.used());
        assertTrue(allocator.used() >= capacity * 99 / 100, "only " + allocator.used() + " of " + capacity + " used");
        assertTrue(capacity - allocator.reserved() < 192, "free space left although 164 bytes no longer fit");
        assertNoOverlap(allocator, live);
        allocator.checkInvariants();
        Collections.shuffle(live, new Random(1));
        for (final Block b : live)
        {
            allocator.free(b.offset(), b.size());
        }
        assertAllFree(allocator);
    }

    @Test
    void largeAllocationsFillThePoolThenFailAndFreeBackToOneRun()
    {
        final PoolAllocator allocator = new PoolAllocator(64 * MIB, ALIGN);
        final List<Block> live = new ArrayList<>();
        for (int i = 0; i < 64; i++)
        {
            final long offset = allocator.allocate(MIB);
            assertEquals(i * MIB, offset, "fresh pool hands out best-fit runs from the low end");
            live.add(new Block(offset, MIB));
        }
        assertEquals(PoolAllocator.NO_SPACE, allocator.allocate(MIB));
        assertEquals(PoolAllocator.NO_SPACE, allocator.allocate(1));
        assertEquals(64 * MIB, allocator.used());
        assertEquals(0, allocator.largestFreeRun());
        assertEquals(0, allocator.freeRunCount());
        Collections.shuffle(live, new Random(2));
        for (final Block b : live)
        {
            allocator.free(b.offset(), b.size());
        }
        assertAllFree(allocator);
        assertEquals(0, allocator.allocate(64 * MIB), "the whole capacity is one run again");
    }

    @Test
    void wholeCapacityCanBeAllocated()
    {
        final PoolAllocator allocator = new PoolAllocator(3 * GIB, ALIGN);
        assertEquals(0, allocator.allocate(3 * GIB));
        assertEquals(PoolAllocator.NO_SPACE, allocator.allocate(64));
        allocator.free(0, 3 * GIB);
        assertAllFree(allocator);
    }

    @Test
    void coalescingMergesNeighboursExactly()
    {
        final PoolAllocator allocator = new PoolAllocator(10 * MIB, ALIGN);
        final long[] offsets = new long[10];
        for (int i = 0; i < 10; i++)
        {
            offsets[i] = allocator.allocate(MIB);
        }
        allocator.free(offsets[1], MIB);
        allocator.free(offsets[3], MIB);
        allocator.free(offsets[5], MIB);
        assertEquals(3, allocator.freeRunCount());
        allocator.free(offsets[2], MIB);
        assertEquals(2, allocator.freeRunCount());
        assertEquals(3 * MIB, allocator.largestFreeRun());
        allocator.free(offsets[4], MIB);
        assertEquals(1, allocator.freeRunCount());
        assertEquals(5 * MIB, allocator.largestFreeRun());
        assertEquals(offsets[1], allocator.allocate(2 * MIB), "best fit reuses the merged run");
    }

    @Test
    void coalescingIsIndependentOfFreeOrder()
    {
        for (int seed = 0; seed < 30; seed++)
        {
            final Random random = new Random(seed);
            final int alignment = new int[] {8, 64, 4096}[seed % 3];
            final PoolAllocator allocator = new PoolAllocator(32 * MIB, alignment);
            final List<Block> live = new ArrayList<>();
            while (true)
            {
                final int kind = random.nextInt(3);
                final long size = switch (kind)
                {
                    case 0 -> 1 + random.nextInt(2000);
                    case 1 -> 16 * KIB + random.nextInt(200_000);
                    default -> 1 + random.nextInt((int) (2 * MIB));
                };
                final long offset = allocator.allocate(size);
                if (offset < 0)
                {
                    break;
                }
                assertEquals(0, offset % alignment);
                live.add(new Block(offset, size));
            }
            assertNoOverlap(allocator, live);
            allocator.checkInvariants();
            Collections.shuffle(live, random);
            for (int i = 0; i < live.size(); i++)
            {
                allocator.free(live.get(i).offset(), live.get(i).size());
                if (i % 50 == 0)
                {
                    allocator.checkInvariants();
                }
            }
            assertAllFree(allocator);
        }
    }

    @Test
    void doubleFreeAndBogusFreesAreDetected()
    {
        final PoolAllocator allocator = new PoolAllocator(64 * MIB, ALIGN);
        final long small = allocator.allocate(164);
        final long small2 = allocator.allocate(164);
        final long large = allocator.allocate(5 * MIB);
        final long usedBefore = allocator.used();

        assertThrows(IllegalStateException.class, () -> allocator.free(small + 192 * 10, 164), "never allocated");
        assertThrows(IllegalStateException.class, () -> allocator.free(small + 64, 164), "inside a block");
        assertThrows(IllegalStateException.class, () -> allocator.free(small + 8, 164), "misaligned");
        assertThrows(IllegalStateException.class, () -> allocator.free(small2, 1000), "wrong size class");
        assertThrows(IllegalStateException.class, () -> allocator.free(small2, 5 * MIB), "large size in slab");
        assertThrows(IllegalStateException.class, () -> allocator.free(large, 4 * MIB), "wrong large size");
        assertThrows(IllegalStateException.class, () -> allocator.free(large + MIB, MIB), "inside large block");
        assertThrows(IllegalStateException.class, () -> allocator.free(large, 164), "small size on large block");
        assertThrows(IllegalStateException.class, () -> allocator.free(60 * MIB, MIB), "free space");
        assertThrows(IllegalStateException.class, () -> allocator.free(60 * MIB, 164), "free space, small");
        assertThrows(IllegalStateException.class, () -> allocator.free(-64, 164), "negative");
        assertThrows(IllegalStateException.class, () -> allocator.free(64 * MIB, 164), "past the end");
        assertThrows(IllegalStateException.class, () -> allocator.free(63 * MIB, 2 * MIB), "runs past the end");
        assertEquals(usedBefore, allocator.used(), "failed frees change nothing");
        allocator.checkInvariants();

        allocator.free(small, 164);
        assertThrows(IllegalStateException.class, () -> allocator.free(small, 164), "small double free");
        allocator.free(large, 5 * MIB);
        assertThrows(IllegalStateException.class, () -> allocator.free(large, 5 * MIB), "large double free");
        allocator.free(small2, 164);
        assertThrows(IllegalStateException.class, () -> allocator.free(small2, 164), "double free, empty slab");
        allocator.checkInvariants();
        assertAllFree(allocator);
        assertThrows(IllegalStateException.class, () -> allocator.free(small2, 164), "double free after trim");
    }

    @Test
    void smallRequestsFallBackToSingleBlocksWhenNoSlabFits()
    {
        final PoolAllocator allocator = new PoolAllocator(100 * KIB, ALIGN);
        final List<Block> live = new ArrayList<>();
        long offset;
        while ((offset = allocator.allocate(164)) >= 0)
        {
            live.add(new Block(offset, 164));
        }
        assertEquals(100 * KIB / 192, live.size());
        assertNoOverlap(allocator, live);
        allocator.checkInvariants();
        final Block victim = live.remove(7);
        allocator.free(victim.offset(), victim.size());
        assertThrows(IllegalStateException.class, () -> allocator.free(victim.offset(), victim.size()));
        Collections.shuffle(live, new Random(3));
        for (final Block b : live)
        {
            allocator.free(b.offset(), b.size());
        }
        assertAllFree(allocator);
    }

    @Test
    void cachedEmptySlabIsReusedAndGivenBackOnDemand()
    {
        final PoolAllocator allocator = new PoolAllocator(MIB, ALIGN);
        final long first = allocator.allocate(164);
        allocator.free(first, 164);
        assertEquals(0, allocator.used());
        assertEquals(256 * KIB, allocator.reserved(), "empty slab stays cached");
        assertEquals(first, allocator.allocate(164), "cached slab is reused");
        allocator.free(first, 164);
        assertEquals(0, allocator.allocate(MIB), "a large request reclaims the cached slab");
        allocator.free(0, MIB);
        assertAllFree(allocator);
    }

    @Test
    void drainedSlabsMoveBetweenClasses()
    {
        final PoolAllocator allocator = new PoolAllocator(16 * MIB, ALIGN);
        final List<Block> small = new ArrayList<>();
        long offset;
        while ((offset = allocator.allocate(100)) >= 0)
        {
            small.add(new Block(offset, 100));
        }
        for (final Block b : small)
        {
            allocator.free(b.offset(), b.size());
        }
        final List<Block> other = new ArrayList<>();
        while ((offset = allocator.allocate(3000)) >= 0)
        {
            other.add(new Block(offset, 3000));
        }
        assertTrue(other.size() * 3072L >= 16 * MIB * 98 / 100, "space freed by one class is usable by another");
        for (final Block b : other)
        {
            allocator.free(b.offset(), b.size());
        }
        assertAllFree(allocator);
    }

    @Test
    void randomizedMixedWorkloadKeepsAllocationsDisjoint()
    {
        final long capacity = 256 * MIB;
        final PoolAllocator allocator = new PoolAllocator(capacity, ALIGN);
        final Random random = new Random(20240611L);
        final TreeMap<Long, Long> liveEnds = new TreeMap<>();
        final List<Block> live = new ArrayList<>();
        long expectedUsed = 0;
        int failures = 0;
        for (int op = 0; op < 200_000; op++)
        {
            if (live.isEmpty() || random.nextInt(100) < 55)
            {
                final int pick = random.nextInt(100);
                final long size;
                if (pick < 80)
                {
                    size = 100 + random.nextInt(201);
                }
                else if (pick < 95)
                {
                    size = 4 * KIB + random.nextInt((int) (60 * KIB + 1));
                }
                else
                {
                    size = MIB + random.nextInt((int) (7 * MIB + 1));
                }
                final long offset = allocator.allocate(size);
                if (offset == PoolAllocator.NO_SPACE)
                {
                    failures++;
                }
                else
                {
                    assertEquals(0, offset % ALIGN);
                    final long end = offset + allocator.blockSize(size);
                    assertTrue(offset >= 0 && end <= capacity, "block out of range");
                    final Map.Entry<Long, Long> below = liveEnds.floorEntry(offset);
                    assertTrue(below == null || below.getValue() <= offset, "overlaps the block below");
                    final Map.Entry<Long, Long> above = liveEnds.ceilingEntry(offset);
                    assertTrue(above == null || above.getKey() >= end, "overlaps the block above");
                    liveEnds.put(offset, end);
                    live.add(new Block(offset, size));
                    expectedUsed += round(size, ALIGN);
                }
            }
            else
            {
                final int index = random.nextInt(live.size());
                final Block victim = live.get(index);
                live.set(index, live.getLast());
                live.removeLast();
                allocator.free(victim.offset(), victim.size());
                liveEnds.remove(victim.offset());
                expectedUsed -= round(victim.size(), ALIGN);
            }
            assertEquals(expectedUsed, allocator.used());
            if (op % 10_000 == 0)
            {
                allocator.checkInvariants();
            }
        }
        assertTrue(failures > 0, "the workload should reach a full pool");
        assertTrue(allocator.reserved() <= capacity);
        allocator.checkInvariants();
        for (final Block b : live)
        {
            allocator.free(b.offset(), b.size());
        }
        assertAllFree(allocator);
    }

    @Test
    void capacityBeyondFourGibHandsOutHighOffsets()
    {
        final long capacity = 9 * GIB + 4 * MIB;
        final PoolAllocator allocator = new PoolAllocator(capacity, ALIGN);
        final List<Block> live = new ArrayList<>();
        long offset;
        while ((offset = allocator.allocate(64 * MIB)) >= 0)
        {
            live.add(new Block(offset, 64 * MIB));
        }
        assertEquals(144, live.size());
        assertEquals(4 * MIB, allocator.largestFreeRun());
        final long smallOffset = allocator.allocate(164);
        assertTrue(smallOffset >= 9 * GIB, "small block lands in the tail: " + smallOffset);
        live.add(new Block(smallOffset, 164));
        final Block high = live.get(140);
        assertTrue(high.offset() > 1L << 33);
        allocator.free(high.offset(), high.size());
        final long many = 1000;
        for (int i = 0; i < many; i++)
        {
            final long o = allocator.allocate(20_000);
            assertTrue(o >= 0);
            live.add(new Block(o, 20_000));
        }
        live.remove(high);
        assertNoOverlap(allocator, live);
        allocator.checkInvariants();
        Collections.shuffle(live, new Random(4));
        for (final Block b : live)
        {
            allocator.free(b.offset(), b.size());
        }
        assertAllFree(allocator);
        assertEquals(0, allocator.allocate(capacity));
    }

    @Test
    void aMillionSmallObjectsFitWithinTwoPercentSlack()
    {
        final int count = 1_000_000;
        final long capacity = count * 192L * 102 / 100;
        final PoolAllocator allocator = new PoolAllocator(capacity, ALIGN);
        final long[] offsets = new long[count];
        for (int i = 0; i < count; i++)
        {
            offsets[i] = allocator.allocate(164);
            assertNotEquals(PoolAllocator.NO_SPACE, offsets[i], "allocation " + i + " failed");
        }
        assertEquals(count * 192L, allocator.used());
        assertTrue(allocator.reserved() <= count * 192L * 1002 / 1000, "slab overhead " + allocator.reserved());
        final long[] sorted = offsets.clone();
        Arrays.sort(sorted);
        for (int i = 1; i < count; i++)
        {
            assertTrue(sorted[i] - sorted[i - 1] >= 192, "blocks overlap at " + sorted[i]);
        }
        allocator.checkInvariants();
        for (int i = 0; i < count; i += 2)
        {
            allocator.free(offsets[i], 164);
        }
        for (int i = 1; i < count; i += 2)
        {
            allocator.free(offsets[i], 164);
        }
        assertAllFree(allocator);
    }

    /** Not an assertion: prints the cost of an allocate+free pair on the small path. */
    @Test
    void microCheckAllocateFreePairs()
    {
        final int pairs = 10_000_000;
        final PoolAllocator allocator = new PoolAllocator(GIB, ALIGN);
        final int residents = 100_000;
        final long[] resident = new long[residents];
        for (int i = 0; i < residents; i++)
        {
            resident[i] = allocator.allocate(164);
        }
        long sink = 0;
        for (int round = 0; round < 3; round++)
        {
            final long lifoStart = System.nanoTime();
            for (int i = 0; i < pairs; i++)
            {
                final long offset = allocator.allocate(164);
                sink += offset;
                allocator.free(offset, 164);
            }
            final long lifoNanos = System.nanoTime() - lifoStart;
            final Random random = new Random(round);
            final int[] victims = new int[pairs / 10];
            for (int i = 0; i < victims.length; i++)
            {
                victims[i] = random.nextInt(residents);
            }
            final long churnStart = System.nanoTime();
            for (int i = 0; i < pairs; i++)
            {
                final int victim = victims[i % victims.length];
                allocator.free(resident[victim], 164);
                resident[victim] = allocator.allocate(164);
                sink += resident[victim];
            }
            final long churnNanos = System.nanoTime() - churnStart;
            System.out.printf("PoolAllocator micro check round %d: alloc+free of 164 B: %.1f ns/pair (LIFO), "
                + "%.1f ns/pair (random churn over %d live)%n", round, (double) lifoNanos / pairs,
                (double) churnNanos / pairs, residents);
        }
        assertTrue(sink != 0);
        allocator.checkInvariants();
    }

    private static void assertNoOverlap(final PoolAllocator allocator, final List<Block> live)
    {
        final TreeMap<Long, Long> ends = new TreeMap<>();
        for (final Block b : live)
        {
            final Long previous = ends.put(b.offset(), b.offset() + allocator.blockSize(b.size()));
            assertEquals(null, previous, "offset handed out twice: " + b.offset());
        }
        long lastEnd = 0;
        for (final Map.Entry<Long, Long> e : ends.entrySet())
        {
            assertTrue(e.getKey() >= lastEnd, "blocks overlap at " + e.getKey());
            lastEnd = e.getValue();
        }
        assertTrue(lastEnd <= allocator.capacity());
    }
}

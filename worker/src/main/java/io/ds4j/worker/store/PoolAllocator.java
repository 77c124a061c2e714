package io.ds4j.worker.store;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Hands out offsets in the worker's one shared-memory data region of {@link #capacity()} bytes. It never touches the
 * memory itself: the worker writes a 64-byte object header at the returned offset and the value after it, and clients
 * map the same region, so an offset is the only handle anybody needs.
 *
 * <h2>Why two allocators</h2>
 * The workload is bimodal: millions of small objects (a 64-byte header plus a ~100-byte value is 192 bytes after
 * alignment) next to a few objects of tens of MiB. A single best-fit allocator over free runs would cost a tree insert
 * and a boxed map entry per small object and would scatter small holes between large objects. So:
 * <ul>
 *   <li><b>Small blocks</b> (up to {@value #SMALL_LIMIT} bytes) use size classes: every multiple of the alignment up to
 *   1 KiB (requests that small are common, so rounding must stay tight), then eight classes per power of two (at most
 *   12.5% rounding waste) up to 16 KiB. Each class carves blocks from slabs of 256 KiB to 1 MiB (at least 64 blocks a
 *   slab, so the unusable slab tail stays under 1/64). A slab keeps a two-level bitmap (one bit per block, one summary
 *   bit per full word), so allocate and free are a handful of word operations with no object allocation, no boxing and
 *   no tree walk. The bitmap also makes double frees exact to detect, which a free stack could not do cheaply, and it
 *   costs one bit per block of heap instead of a stack entry per block.</li>
 *   <li>Slabs with free blocks sit on a per-class list; allocation takes the head. A slab that gets a block back while
 *   full goes to the head and a slab that becomes empty goes to the tail, so allocations pile into the fullest slabs
 *   and sparse slabs get the chance to drain. A slab that drains entirely goes back to the large allocator, so space
 *   moves between classes and large objects instead of being stranded in one class forever. One empty slab per class
 *   (the lowest-addressed) is kept cached, so a workload that frees and re-allocates around a slab boundary does not
 *   pay two tree operations per call. Cached slabs are given back whenever the large allocator cannot serve a request,
 *   and on {@link #trim()}, {@link #largestFreeRun()} and {@link #freeRunCount()}, which report what allocate could
 *   really obtain.</li>
 *   <li><b>Large blocks</b> and slabs come from a best-fit allocator over free runs, indexed by offset (to coalesce
 *   neighbours on free) and by (size, offset) (to find the smallest run that fits, lowest address first). Best fit
 *   keeps the big runs intact for the 64 MiB objects; coalescing means that once everything is freed the region is one
 *   run again. Live large blocks are recorded exactly, so a double or bogus free of a large block is always caught.
 *   These paths allocate tree nodes, but they run once per large object or once per slab of hundreds of blocks.</li>
 *   <li>When no slab can be carved any more, a small request falls back to the large allocator for a single block, so
 *   the last free fragments of a nearly full pool are still usable. It still fails with {@code -1} when no run at all
 *   is big enough, even if other classes' slabs have free blocks: moving those would mean moving live objects.</li>
 * </ul>
 * Slabs are found on free without a tree: a slab starts in a 256 KiB chunk of the region that holds no other slab
 * start (slabs are at least that long), so an array indexed by chunk and a look back over at most four chunks finds
 * the slab owning any offset.
 *
 * <h2>Accounting</h2>
 * {@link #used()} counts the bytes handed to callers, each request rounded up to the alignment. {@link #reserved()}
 * counts what the allocator holds for them: whole slabs (with their free blocks and tails) plus large blocks. The
 * difference is the price of size classes and slabs; {@code capacity() - reserved()} is free in runs.
 *
 * <h2>Thread safety</h2>
 * None, deliberately: the worker already serializes every store mutation under its own lock, and a second lock here
 * would only add cost. Every method, the observers included (some release cached slabs), must be called while holding
 * that lock. Allocate and free are O(1) for small blocks and O(log n) in the number of free runs and large blocks
 * otherwise.
 */
public final class PoolAllocator
{
    /** What {@link #allocate(long)} returns when no free run is large enough. */
    public static final long NO_SPACE = -1L;

    /** Requests up to this many bytes (after rounding) are served from size-class slabs. */
    public static final long SMALL_LIMIT = 16 * 1024;

    private static final long LINEAR_CLASS_LIMIT = 1024;
    private static final int CLASSES_PER_DOUBLING = 8;
    private static final int CHUNK_SHIFT = 18;
    private static final long MIN_SLAB = 1L << CHUNK_SHIFT;
    private static final long MAX_SLAB = 1L << 20;
    private static final int MAX_CHUNKS_BACK = (int) (MAX_SLAB >>> CHUNK_SHIFT);
    private static final int MIN_BLOCKS_PER_SLAB = 64;

    private static final Comparator<Run> BY_SIZE_THEN_OFFSET =
        Comparator.comparingLong(Run::size).thenComparingLong(Run::offset);

    private final long capacity;
    private final int alignment;
    private final int alignShift;
    private final long alignMask;
    private final long smallMax;
    private final SizeClass[] classes;
    private final int[] classByUnits;
    private final int maxChunks;

    private final TreeMap<Long, Long> freeByOffset = new TreeMap<>();
    private final TreeSet<Run> freeBySize = new TreeSet<>(BY_SIZE_THEN_OFFSET);
    private final TreeMap<Long, Long> liveLarge = new TreeMap<>();
    private Slab[] slabByChunk = new Slab[0];

    private long used;
    private long slabBytes;
    private long largeBytes;
    private int cachedSlabs;

    /**
     * Creates an allocator over {@code [0, capacity)} with the whole range free.
     *
     * @param capacity  size of the data region in bytes, at least {@code alignment}; a tail shorter than the alignment
     *                  is never handed out ({@link #capacity()} reports the rounded-down size)
     * @param alignment power of two, at least 8; every offset is a multiple of it and every size is rounded up to it
     */
    public PoolAllocator(final long capacity, final int alignment)
    {
        if (alignment < 8 || Integer.bitCount(alignment) != 1)
        {
            throw new IllegalArgumentException("alignment must be a power of two >= 8: " + alignment);
        }
        if (capacity < alignment)
        {
            throw new IllegalArgumentException(
                "capacity must be at least the alignment " + alignment + ": " + capacity);
        }
        if ((capacity >>> CHUNK_SHIFT) >= Integer.MAX_VALUE - 1)
        {
            throw new IllegalArgumentException("capacity too large: " + capacity);
        }
        this.capacity = capacity & -(long) alignment;
        this.alignment = alignment;
        this.alignShift = Integer.numberOfTrailingZeros(alignment);
        this.alignMask = alignment - 1L;
        this.maxChunks = (int) (this.capacity >>> CHUNK_SHIFT) + 1;
        final long[] sizes = classSizes(alignment);
        this.classes = new SizeClass[sizes.length];
        for (int i = 0; i < sizes.length; i++)
        {
            classes[i] = new SizeClass(sizes[i]);
        }
        this.smallMax = sizes.length == 0 ? 0 : sizes[sizes.length - 1];
        this.classByUnits = new int[(int) (smallMax >>> alignShift)];
        int cls = 0;
        for (int units = 0; units < classByUnits.length; units++)
        {
            final long bytes = (units + 1L) << alignShift;
            while (sizes[cls] < bytes)
            {
                cls++;
            }
            classByUnits[units] = cls;
        }
        addRun(0, this.capacity);
    }

    /**
     * Reserves a block of at least {@code size} bytes.
     *
     * @param size requested bytes, positive; rounded up to the alignment
     * @return the block's offset, a multiple of the alignment, or {@link #NO_SPACE} when no free run is large enough
     * @throws IllegalArgumentException if {@code size <= 0}
     */
    public long allocate(final long size)
    {
        if (size <= 0)
        {
            throw new IllegalArgumentException("size must be positive: " + size);
        }
        if (size > capacity)
        {
            return NO_SPACE;
        }
        final long rounded = (size + alignMask) & ~alignMask;
        if (rounded <= smallMax)
        {
            return allocateSmall(classes[classByUnits[(int) (rounded >>> alignShift) - 1]], rounded);
        }
        final long offset = takeRunOrTrim(rounded);
        if (offset >= 0)
        {
            recordLarge(offset, rounded, rounded);
        }
        return offset;
    }

    /**
     * Returns a block. Freed space coalesces with free neighbours.
     *
     * @param offset what {@link #allocate(long)} returned
     * @param size   the size passed to {@link #allocate(long)} (any size with the same rounding is accepted)
     * @throws IllegalArgumentException if {@code size <= 0}
     * @throws IllegalStateException    if the block is not live: a double free, a size that does not match, or an
     *                                  offset that was never returned
     */
    public void free(final long offset, final long size)
    {
        if (size <= 0)
        {
            throw new IllegalArgumentException("size must be positive: " + size);
        }
        if (offset < 0 || offset >= capacity || (offset & alignMask) != 0 || size > capacity - offset)
        {
            throw notLive(offset, size);
        }
        final long rounded = (size + alignMask) & ~alignMask;
        if (rounded <= smallMax)
        {
            final SizeClass sc = classes[classByUnits[(int) (rounded >>> alignShift) - 1]];
            final Slab slab = findSlab(offset);
            if (slab != null)
            {
                freeSmall(sc, slab, offset, size, rounded);
            }
            else
            {
                freeLarge(offset, sc.blockSize, rounded, size);
            }
        }
        else
        {
            freeLarge(offset, rounded, rounded, size);
        }
    }

    /** Bytes handed to callers and not yet freed, each request rounded up to the alignment. */
    public long used()
    {
        return used;
    }

    /** Bytes held for callers: whole slabs (with their free blocks) plus large blocks. At least {@link #used()}. */
    public long reserved()
    {
        return slabBytes + largeBytes;
    }

    /** Size of the managed region in bytes: the constructor's capacity rounded down to the alignment. */
    public long capacity()
    {
        return capacity;
    }

    /** The alignment of every offset and size. */
    public int alignment()
    {
        return alignment;
    }

    /**
     * Bytes actually set aside for a request of {@code size}: the size class for small requests, the size rounded up
     * to the alignment otherwise. The block at an allocated offset may be used up to this many bytes.
     */
    public long blockSize(final long size)
    {
        if (size <= 0)
        {
            throw new IllegalArgumentException("size must be positive: " + size);
        }
        if (size > capacity)
        {
            throw new IllegalArgumentException("size exceeds capacity: " + size);
        }
        final long rounded = (size + alignMask) & ~alignMask;
        return rounded <= smallMax ? classes[classByUnits[(int) (rounded >>> alignShift) - 1]].blockSize : rounded;
    }

    /**
     * The largest block a large request could get now. Cached empty slabs are given back first, since
     * {@link #allocate(long)} would give them back on demand.
     */
    public long largestFreeRun()
    {
        trim();
        return freeBySize.isEmpty() ? 0 : freeBySize.last().size();
    }

    /** Number of maximal free runs (1 when nothing is allocated). Cached empty slabs are given back first. */
    public int freeRunCount()
    {
        trim();
        return freeByOffset.size();
    }

    /** Gives the cached empty slab of every size class back to the large allocator. */
    public void trim()
    {
        if (cachedSlabs == 0)
        {
            return;
        }
        for (final SizeClass sc : classes)
        {
            final Slab slab = sc.cached;
            if (slab != null)
            {
                sc.cached = null;
                cachedSlabs--;
                releaseSlab(sc, slab);
            }
        }
    }

    @Override
    public String toString()
    {
        return "PoolAllocator[capacity=" + capacity + ", used=" + used + ", reserved=" + reserved()
            + ", freeRuns=" + freeByOffset.size() + "]";
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Small blocks

    private long allocateSmall(final SizeClass sc, final long rounded)
    {
        Slab slab = sc.head;
        if (slab == null)
        {
            slab = newSlab(sc);
            if (slab == null)
            {
                final long offset = takeRun(sc.blockSize);
                if (offset >= 0)
                {
                    recordLarge(offset, sc.blockSize, rounded);
                }
                return offset;
            }
        }
        else if (slab == sc.cached)
        {
            sc.cached = null;
            cachedSlabs--;
        }
        final long[] bits = slab.bits;
        final int summaryBase = sc.words;
        int s = summaryBase;
        long summary = bits[s];
        while (summary == -1L)
        {
            summary = bits[++s];
        }
        final int word = ((s - summaryBase) << 6) + Long.numberOfTrailingZeros(~summary);
        final long value = bits[word];
        final int bit = Long.numberOfTrailingZeros(~value);
        final long updated = value | (1L << bit);
        bits[word] = updated;
        if (updated == -1L)
        {
            bits[s] = summary | (1L << word);
        }
        if (++slab.live == sc.blocksPerSlab)
        {
            unlink(sc, slab);
        }
        used += rounded;
        return slab.start + (((long) word << 6) + bit) * sc.blockSize;
    }

    private void freeSmall(final SizeClass sc, final Slab slab, final long offset, final long size, final long rounded)
    {
        if (slab.sizeClass != sc)
        {
            throw notLive(offset, size);
        }
        final long relative = offset - slab.start;
        final long index = relative / sc.blockSize;
        if (index * sc.blockSize != relative || index >= sc.blocksPerSlab)
        {
            throw notLive(offset, size);
        }
        final long[] bits = slab.bits;
        final int word = (int) (index >>> 6);
        final long mask = 1L << index;
        final long value = bits[word];
        if ((value & mask) == 0)
        {
            throw notLive(offset, size);
        }
        if (value == -1L)
        {
            bits[sc.words + (word >>> 6)] &= ~(1L << word);
        }
        bits[word] = value & ~mask;
        used -= rounded;
        final int live = --slab.live;
        if (live == sc.blocksPerSlab - 1)
        {
            pushFront(sc, slab);
        }
        if (live == 0)
        {
            slabEmptied(sc, slab);
        }
    }

    private void slabEmptied(final SizeClass sc, final Slab slab)
    {
        final Slab cached = sc.cached;
        if (cached == null)
        {
            sc.cached = slab;
            cachedSlabs++;
            moveToBack(sc, slab);
        }
        else if (slab.start < cached.start)
        {
            sc.cached = slab;
            moveToBack(sc, slab);
            releaseSlab(sc, cached);
        }
        else
        {
            releaseSlab(sc, slab);
        }
    }

    private Slab newSlab(final SizeClass sc)
    {
        final long start = takeRunOrTrim(sc.slabLength);
        if (start < 0)
        {
            return null;
        }
        final Slab slab = new Slab(start, sc);
        final int chunk = (int) (start >>> CHUNK_SHIFT);
        if (chunk >= slabByChunk.length)
        {
            final int grown = Math.max(chunk + 1, Math.min(maxChunks, Math.max(16, slabByChunk.length * 2)));
            slabByChunk = Arrays.copyOf(slabByChunk, grown);
        }
        slabByChunk[chunk] = slab;
        slabBytes += sc.slabLength;
        pushFront(sc, slab);
        return slab;
    }

    private void releaseSlab(final SizeClass sc, final Slab slab)
    {
        unlink(sc, slab);
        slabByChunk[(int) (slab.start >>> CHUNK_SHIFT)] = null;
        slabBytes -= sc.slabLength;
        giveRun(slab.start, sc.slabLength);
    }

    private Slab findSlab(final long offset)
    {
        final Slab[] map = slabByChunk;
        final int chunk = (int) (offset >>> CHUNK_SHIFT);
        final int lowest = Math.max(0, chunk - MAX_CHUNKS_BACK);
        for (int c = Math.min(chunk, map.length - 1); c >= lowest; c--)
        {
            final Slab slab = map[c];
            if (slab != null && slab.start <= offset)
            {
                return offset < slab.start + slab.sizeClass.slabLength ? slab : null;
            }
        }
        return null;
    }

    private static void pushFront(final SizeClass sc, final Slab slab)
    {
        slab.listed = true;
        slab.prev = null;
        slab.next = sc.head;
        if (sc.head != null)
        {
            sc.head.prev = slab;
        }
        else
        {
            sc.tail = slab;
        }
        sc.head = slab;
    }

    private static void moveToBack(final SizeClass sc, final Slab slab)
    {
        if (sc.tail == slab)
        {
            return;
        }
        unlink(sc, slab);
        slab.listed = true;
        slab.next = null;
        slab.prev = sc.tail;
        if (sc.tail != null)
        {
            sc.tail.next = slab;
        }
        else
        {
            sc.head = slab;
        }
        sc.tail = slab;
    }

    private static void unlink(final SizeClass sc, final Slab slab)
    {
        if (!slab.listed)
        {
            return;
        }
        if (slab.prev != null)
        {
            slab.prev.next = slab.next;
        }
        else
        {
            sc.head = slab.next;
        }
        if (slab.next != null)
        {
            slab.next.prev = slab.prev;
        }
        else
        {
            sc.tail = slab.prev;
        }
        slab.prev = null;
        slab.next = null;
        slab.listed = false;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Large blocks and free runs

    private void recordLarge(final long offset, final long blockLength, final long rounded)
    {
        liveLarge.put(offset, blockLength);
        largeBytes += blockLength;
        used += rounded;
    }

    private void freeLarge(final long offset, final long blockLength, final long rounded, final long size)
    {
        final Long recorded = liveLarge.get(offset);
        if (recorded == null || recorded != blockLength)
        {
            throw notLive(offset, size);
        }
        giveRun(offset, blockLength);
        liveLarge.remove(offset);
        largeBytes -= blockLength;
        used -= rounded;
    }

    private long takeRunOrTrim(final long length)
    {
        final long offset = takeRun(length);
        if (offset >= 0 || cachedSlabs == 0)
        {
            return offset;
        }
        trim();
        return takeRun(length);
    }

    /** Best fit: the smallest free run of at least {@code length}, lowest offset first; carves from its start. */
    private long takeRun(final long length)
    {
        final Run run = freeBySize.ceiling(new Run(Long.MIN_VALUE, length));
        if (run == null)
        {
            return NO_SPACE;
        }
        freeBySize.remove(run);
        freeByOffset.remove(run.offset());
        if (run.size() > length)
        {
            addRun(run.offset() + length, run.size() - length);
        }
        return run.offset();
    }

    /** Returns {@code [offset, offset + length)} to the free runs, merging with adjacent runs. */
    private void giveRun(final long offset, final long length)
    {
        final long end = offset + length;
        final Map.Entry<Long, Long> before = freeByOffset.floorEntry(offset);
        final Map.Entry<Long, Long> after = freeByOffset.ceilingEntry(offset);
        final long beforeEnd = before == null ? -1 : before.getKey() + before.getValue();
        if (beforeEnd > offset || (after != null && after.getKey() < end))
        {
            throw new IllegalStateException("range [" + offset + ", " + end + ") overlaps a free run");
        }
        long start = offset;
        long stop = end;
        if (beforeEnd == offset)
        {
            start = before.getKey();
            removeRun(start, before.getValue());
        }
        if (after != null && after.getKey() == end)
        {
            stop = end + after.getValue();
            removeRun(end, after.getValue());
        }
        addRun(start, stop - start);
    }

    private void addRun(final long offset, final long size)
    {
        freeByOffset.put(offset, size);
        freeBySize.add(new Run(offset, size));
    }

    private void removeRun(final long offset, final long size)
    {
        freeByOffset.remove(offset);
        freeBySize.remove(new Run(offset, size));
    }

    private static IllegalStateException notLive(final long offset, final long size)
    {
        return new IllegalStateException(
            "no live block of " + size + " bytes at offset " + offset + " (double free or never allocated)");
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Size classes

    /** Every multiple of the alignment up to 1 KiB, then eight steps per power of two, up to {@link #SMALL_LIMIT}. */
    static long[] classSizes(final int alignment)
    {
        final List<Long> sizes = new ArrayList<>();
        if (alignment <= SMALL_LIMIT)
        {
            for (long size = alignment; size <= LINEAR_CLASS_LIMIT; size += alignment)
            {
                sizes.add(size);
            }
            for (long base = LINEAR_CLASS_LIMIT; base < SMALL_LIMIT; base <<= 1)
            {
                for (int step = 1; step <= CLASSES_PER_DOUBLING; step++)
                {
                    final long raw = base + base * step / CLASSES_PER_DOUBLING;
                    final long size = (raw + alignment - 1) & -(long) alignment;
                    if (sizes.isEmpty() || size > sizes.getLast())
                    {
                        sizes.add(size);
                    }
                }
            }
        }
        final long[] result = new long[sizes.size()];
        for (int i = 0; i < result.length; i++)
        {
            result[i] = sizes.get(i);
        }
        return result;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Consistency check for tests

    /** Verifies every internal invariant; O(everything). For tests. */
    void checkInvariants()
    {
        long free = 0;
        long previousEnd = -1;
        for (final Map.Entry<Long, Long> e : freeByOffset.entrySet())
        {
            final long offset = e.getKey();
            final long size = e.getValue();
            check(size > 0 && (offset & alignMask) == 0 && (size & alignMask) == 0, "misaligned run " + e);
            check(offset > previousEnd, "free runs overlap or touch at " + offset);
            check(offset + size <= capacity, "run beyond capacity " + e);
            check(freeBySize.contains(new Run(offset, size)), "run missing from size index " + e);
            previousEnd = offset + size;
            free += size;
        }
        check(freeBySize.size() == freeByOffset.size(), "size index has stale runs");
        long large = 0;
        for (final Map.Entry<Long, Long> e : liveLarge.entrySet())
        {
            large += e.getValue();
            final Map.Entry<Long, Long> run = freeByOffset.floorEntry(e.getKey() + e.getValue() - 1);
            check(run == null || run.getKey() + run.getValue() <= e.getKey(), "live block in free run " + e);
        }
        check(large == largeBytes, "large byte count");
        long slabs = 0;
        int cached = 0;
        for (int c = 0; c < slabByChunk.length; c++)
        {
            final Slab slab = slabByChunk[c];
            if (slab == null)
            {
                continue;
            }
            final SizeClass sc = slab.sizeClass;
            check(slab.start >>> CHUNK_SHIFT == c, "slab registered under the wrong chunk");
            check(findSlab(slab.start) == slab && findSlab(slab.start + sc.slabLength - 1) == slab, "slab lookup");
            slabs += sc.slabLength;
            int live = 0;
            for (int w = 0; w < sc.words; w++)
            {
                live += Long.bitCount(slab.bits[w] & sc.validMask(w));
                final boolean full = (slab.bits[sc.words + (w >>> 6)] & (1L << w)) != 0;
                check(full == (slab.bits[w] == -1L), "summary bit out of date");
            }
            check(live == slab.live, "slab live count");
            check(slab.listed == (live < sc.blocksPerSlab), "slab list membership");
            if (sc.cached == slab)
            {
                cached++;
                check(live == 0, "cached slab not empty");
            }
            else
            {
                check(live > 0, "empty slab neither cached nor released");
            }
        }
        for (final SizeClass sc : classes)
        {
            for (Slab s = sc.head; s != null; s = s.next)
            {
                check(s.listed && s.sizeClass == sc, "foreign slab on list");
                check(s.next != null || sc.tail == s, "tail pointer");
            }
        }
        check(cached == cachedSlabs, "cached slab count");
        check(slabs == slabBytes, "slab byte count");
        check(free + slabs + large == capacity, "bytes lost: free " + free + " slabs " + slabs + " large " + large);
        check(used <= reserved(), "used exceeds reserved");
    }

    private static void check(final boolean condition, final String message)
    {
        if (!condition)
        {
            throw new IllegalStateException("allocator invariant broken: " + message);
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Data

    private record Run(long offset, long size)
    {
    }

    /** One size class: geometry plus the list of its slabs that have free blocks. */
    private static final class SizeClass
    {
        final long blockSize;
        final long slabLength;
        final int blocksPerSlab;
        final int words;
        /** Initial bitmap: block words, then summary words; bits past the last block are set so they never match. */
        final long[] emptyBits;
        Slab head;
        Slab tail;
        Slab cached;

        SizeClass(final long blockSize)
        {
            this.blockSize = blockSize;
            long length = MIN_SLAB;
            while (length < MAX_SLAB && length < blockSize * MIN_BLOCKS_PER_SLAB)
            {
                length <<= 1;
            }
            this.slabLength = length;
            this.blocksPerSlab = (int) (length / blockSize);
            this.words = (blocksPerSlab + 63) >>> 6;
            final int summaryWords = (words + 63) >>> 6;
            this.emptyBits = new long[words + summaryWords];
            for (int w = 0; w < words; w++)
            {
                emptyBits[w] = ~validMask(w);
                if (emptyBits[w] == -1L)
                {
                    emptyBits[words + (w >>> 6)] |= 1L << w;
                }
            }
            for (int w = words; w < summaryWords << 6; w++)
            {
                emptyBits[words + (w >>> 6)] |= 1L << w;
            }
        }

        long validMask(final int word)
        {
            final int valid = Math.min(64, blocksPerSlab - (word << 6));
            return valid == 64 ? -1L : (1L << valid) - 1;
        }
    }

    /** A run of {@code sizeClass.slabLength} bytes cut into equal blocks; bit set = block handed out. */
    private static final class Slab
    {
        final long start;
        final SizeClass sizeClass;
        final long[] bits;
        int live;
        boolean listed;
        Slab prev;
        Slab next;

        Slab(final long start, final SizeClass sizeClass)
        {
            this.start = start;
            this.sizeClass = sizeClass;
            this.bits = sizeClass.emptyBits.clone();
        }
    }
}

package io.ds4j.common.shm;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * The 64 bytes in front of every value in the pool (docs/shm-layout.md, "Object header"). The worker writes it
 * when it allocates and when the object changes state; a client that maps the pool checks the allocation id of a
 * view against the one the worker told it, so a mix-up can never hand out another object's bytes.
 *
 * <pre>
 *   0  magic          int32  0x4A424F44 ("DOBJ")
 *   4  state          int32  1 writing, 2 published, 3 sealed, 4 dead (release/acquire)
 *   8  allocation id  int64  unique within one worker generation
 *  16  data size      int64  bytes of the value that follows the header
 *  24  version        int64  the key's version this value is
 *  32  latch word     int64  the object's cross-process read/write latch, changed only by CAS (below)
 *  40  ref word       int64  reserved (reference counts live on the worker's heap)
 *  48  reserved       2 x int64, zero
 *  64  value bytes ...
 * </pre>
 *
 * <p>The latch word (docs/shm-layout.md, "Latch word"):
 * <pre>
 *  bit 63       a writer holds the latch, or has claimed it and waits for the readers to leave
 *  bits 32..62  that writer's token: the low 31 bits of its client's session id, never 0
 *  bits 0..31   number of readers holding it
 * </pre>
 * A reader gets in while bit 63 is clear; a writer first sets bit 63 with its token (so no new reader gets in)
 * and owns the latch once the reader count is 0. Every change is one compare-and-set of the whole word, done
 * by the methods here, so the worker (undoing a dead client's holds) and any number of clients agree on it.
 */
public final class ObjectHeader
{
    public static final int MAGIC = 0x4A424F44;
    public static final long MAGIC_OFFSET = 0;
    public static final long STATE_OFFSET = 4;
    public static final long ALLOCATION_ID_OFFSET = 8;
    public static final long DATA_SIZE_OFFSET = 16;
    public static final long VERSION_OFFSET = 24;
    public static final long LATCH_OFFSET = 32;
    public static final long REF_OFFSET = 40;
    public static final long LENGTH = 64;

    public static final int STATE_WRITING = 1;
    public static final int STATE_PUBLISHED = 2;
    public static final int STATE_SEALED = 3;
    public static final int STATE_DEAD = 4;

    /** Bit 63 of the latch word: a writer holds (or has claimed) the latch. */
    public static final long LATCH_WRITER = 1L << 63;
    /** The writer's token sits in bits 32..62. */
    public static final int LATCH_TOKEN_SHIFT = 32;
    /** 31 bits of token. */
    public static final long LATCH_TOKEN_MASK = 0x7FFF_FFFFL;
    /** Bits 0..31: the reader count. */
    public static final long LATCH_READERS = 0xFFFF_FFFFL;
    /** Latch kinds, as LATCH_HELD / LATCH_RELEASED carry them. */
    public static final int LATCH_KIND_WRITE = 1;
    public static final int LATCH_KIND_READ = 2;

    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();

    private ObjectHeader()
    {
    }

    /** Initialises the header at {@code headerOffset} of the mapped segment for a fresh allocation. */
    public static void init(final MemorySegment segment, final long headerOffset, final long allocationId,
        final long dataSize, final long version)
    {
        segment.set(ValueLayout.JAVA_INT, headerOffset + MAGIC_OFFSET, MAGIC);
        segment.set(ValueLayout.JAVA_LONG, headerOffset + ALLOCATION_ID_OFFSET, allocationId);
        segment.set(ValueLayout.JAVA_LONG, headerOffset + DATA_SIZE_OFFSET, dataSize);
        segment.set(ValueLayout.JAVA_LONG, headerOffset + VERSION_OFFSET, version);
        segment.set(ValueLayout.JAVA_LONG, headerOffset + LATCH_OFFSET, 0L);
        segment.set(ValueLayout.JAVA_LONG, headerOffset + REF_OFFSET, 0L);
        segment.set(ValueLayout.JAVA_LONG, headerOffset + 48, 0L);
        segment.set(ValueLayout.JAVA_LONG, headerOffset + 56, 0L);
        INT.setRelease(segment, headerOffset + STATE_OFFSET, STATE_WRITING);
    }

    public static int magic(final MemorySegment segment, final long headerOffset)
    {
        return segment.get(ValueLayout.JAVA_INT, headerOffset + MAGIC_OFFSET);
    }

    public static int state(final MemorySegment segment, final long headerOffset)
    {
        return (int) INT.getAcquire(segment, headerOffset + STATE_OFFSET);
    }

    public static void state(final MemorySegment segment, final long headerOffset, final int state)
    {
        INT.setRelease(segment, headerOffset + STATE_OFFSET, state);
    }

    public static long allocationId(final MemorySegment segment, final long headerOffset)
    {
        return segment.get(ValueLayout.JAVA_LONG, headerOffset + ALLOCATION_ID_OFFSET);
    }

    public static long dataSize(final MemorySegment segment, final long headerOffset)
    {
        return segment.get(ValueLayout.JAVA_LONG, headerOffset + DATA_SIZE_OFFSET);
    }

    public static long version(final MemorySegment segment, final long headerOffset)
    {
        return segment.get(ValueLayout.JAVA_LONG, headerOffset + VERSION_OFFSET);
    }

    public static void version(final MemorySegment segment, final long headerOffset, final long version)
    {
        segment.set(ValueLayout.JAVA_LONG, headerOffset + VERSION_OFFSET, version);
    }

    // ------------------------------------------------------------------ latch word

    /** The latch word, read with volatile semantics (it is changed by other processes). */
    public static long latchWord(final MemorySegment segment, final long headerOffset)
    {
        return (long) LONG.getVolatile(segment, headerOffset + LATCH_OFFSET);
    }

    /** One compare-and-set of the latch word (a full fence, like every change of it). */
    public static boolean compareAndSetLatch(final MemorySegment segment, final long headerOffset,
        final long expected, final long value)
    {
        return LONG.compareAndSet(segment, headerOffset + LATCH_OFFSET, expected, value);
    }

    /** The writer token of a client: the low 31 bits of its session id, 1 where those are all zero. */
    public static int latchToken(final long sessionId)
    {
        final int token = (int) (sessionId & LATCH_TOKEN_MASK);
        return token == 0 ? 1 : token;
    }

    public static boolean hasWriter(final long word)
    {
        return (word & LATCH_WRITER) != 0;
    }

    public static int writerToken(final long word)
    {
        return (int) ((word >>> LATCH_TOKEN_SHIFT) & LATCH_TOKEN_MASK);
    }

    public static long readerCount(final long word)
    {
        return word & LATCH_READERS;
    }

    /** For messages: "writer token T / N readers", "N readers" or "free". */
    public static String describeLatch(final long word)
    {
        if (hasWriter(word))
        {
            return "writer token " + writerToken(word) + " / " + readerCount(word) + " readers";
        }
        return word == 0 ? "free" : readerCount(word) + " readers";
    }

    /**
     * Sets the writer bit with {@code token} unless another writer has it; readers already in stay counted (the
     * caller then waits for {@link #readerCount} to reach 0). True when this caller now owns bit 63.
     */
    public static boolean tryClaimWriter(final MemorySegment segment, final long headerOffset, final int token)
    {
        while (true)
        {
            final long word = latchWord(segment, headerOffset);
            if (hasWriter(word))
            {
                return false;
            }
            if (compareAndSetLatch(segment, headerOffset, word,
                word | LATCH_WRITER | ((long) token & LATCH_TOKEN_MASK) << LATCH_TOKEN_SHIFT))
            {
                return true;
            }
        }
    }

    /** Adds a reader unless a writer holds or claimed the latch (or the count is full). */
    public static boolean tryReadLatch(final MemorySegment segment, final long headerOffset)
    {
        while (true)
        {
            final long word = latchWord(segment, headerOffset);
            if (hasWriter(word) || readerCount(word) == LATCH_READERS)
            {
                return false;
            }
            if (compareAndSetLatch(segment, headerOffset, word, word + 1))
            {
                return true;
            }
        }
    }

    /**
     * Clears the writer bit and token if they are {@code token}'s, keeping the reader count; false when this token
     * does not hold it (then nothing changes). Used by the holder to unlatch and by the worker to undo the hold of
     * a dead client.
     */
    public static boolean releaseWriter(final MemorySegment segment, final long headerOffset, final int token)
    {
        while (true)
        {
            final long word = latchWord(segment, headerOffset);
            if (!hasWriter(word) || writerToken(word) != (token & LATCH_TOKEN_MASK))
            {
                return false;
            }
            if (compareAndSetLatch(segment, headerOffset, word, word & LATCH_READERS))
            {
                return true;
            }
        }
    }

    /**
     * Takes up to {@code count} readers off the count (never below 0) and returns how many it took. One for an
     * unlatch; a dead client's whole share when the worker undoes its holds.
     */
    public static long releaseReaders(final MemorySegment segment, final long headerOffset, final long count)
    {
        while (true)
        {
            final long word = latchWord(segment, headerOffset);
            final long taken = Math.min(readerCount(word), count);
            if (taken <= 0)
            {
                return 0;
            }
            if (compareAndSetLatch(segment, headerOffset, word, word - taken))
            {
                return taken;
            }
        }
    }
}

package io.ds4j.worker.store.spill;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.locks.LockSupport;
import java.util.zip.CRC32C;

/**
 * The CRC32C of a segment that a reader fills front to back in fixed-size chunks, computed by the reader and one
 * helper thread together. Each chunk's CRC is computed separately, by whichever thread claims the chunk first, and
 * the chunk CRCs are combined at the end ({@link #combine}), so neither thread ever waits for the other to catch up:
 * <ul>
 *   <li>the helper ({@link #run}) claims filled chunks in order and checksums them while the reader reads the next
 *   ones, so when the helper keeps up a large read costs the I/O alone;</li>
 *   <li>the reader checksums a chunk it has just read itself, while it is still in the CPU cache, whenever the helper
 *   is more than one chunk behind (not started yet, or waiting for a core), so a busy machine costs no more than
 *   checksumming inline;</li>
 *   <li>{@link #finish} claims whatever is left and waits only for the at most one chunk the helper is working on;
 *   {@link #abandon} (after a failed read) claims everything left and does the same. Afterwards the helper can claim
 *   nothing more, so it never touches the segment again: the caller may free it as soon as the read returns.</li>
 * </ul>
 * Only segments that another thread may access are handed to a helper ({@link #canHelp}): not a confined arena's.
 */
final class ChunkedChecksum implements Runnable
{
    private static final int FREE = 0;
    private static final int HELPER = 1;
    private static final int READER = 2;
    private static final int DONE = 3;

    /** CRC-32C (Castagnoli) polynomial, reflected. */
    private static final int POLY = 0x82F63B78;
    private static final long WAIT_NANOS = 10_000;
    private static final int SPINS_BEFORE_PARKING = 1000;

    /** x^(2^k) modulo the polynomial, for {@link #combine}. */
    private static final int[] X2N = new int[32];

    static
    {
        int p = 1 << 30;
        X2N[0] = p;
        for (int n = 1; n < 32; n++)
        {
            p = multModP(p, p);
            X2N[n] = p;
        }
    }

    /**
     * A thread that is neither the reader nor ever started: a segment it may access is not confined to one thread
     * ({@link MemorySegment#isAccessibleBy} only tells the owner of a confined segment from the rest).
     */
    private static final Thread SOME_OTHER_THREAD = Thread.ofPlatform().unstarted(() ->
    {
    });

    private final MemorySegment segment;
    private final long chunkSize;
    private final int chunks;
    private final int[] crcs;
    private final AtomicIntegerArray states;
    private volatile int filledChunks;
    private volatile int helperCursor;
    private volatile boolean abandoned;

    ChunkedChecksum(final MemorySegment segment, final long chunkSize)
    {
        this.segment = segment;
        this.chunkSize = chunkSize;
        this.chunks = (int) ((segment.byteSize() + chunkSize - 1) / chunkSize);
        this.crcs = new int[chunks];
        this.states = new AtomicIntegerArray(chunks);
    }

    /** Whether a helper thread may access {@code segment}: false for a segment of a confined arena. */
    static boolean canHelp(final MemorySegment segment)
    {
        return segment.isAccessibleBy(SOME_OTHER_THREAD);
    }

    /** Reader: chunk {@code index} (and every chunk before it) holds its final content. */
    void chunkFilled(final int index)
    {
        filledChunks = index + 1;
        if (helperCursor < index && states.compareAndSet(index, FREE, READER))
        {
            crcs[index] = crcOf(index);
        }
    }

    /** Reader: every chunk is filled; returns the CRC32C of the whole segment. */
    int finish()
    {
        if (chunks == 0)
        {
            return 0;
        }
        for (int i = 0; i < chunks; i++)
        {
            if (states.compareAndSet(i, FREE, READER))
            {
                crcs[i] = crcOf(i);
            }
        }
        awaitHelper();
        int crc = crcs[0];
        final int fullChunkOperator = x2nModP(chunkSize, 3);
        for (int i = 1; i < chunks; i++)
        {
            final long length = chunkLength(i);
            crc = multModP(length == chunkSize ? fullChunkOperator : x2nModP(length, 3), crc) ^ crcs[i];
        }
        return crc;
    }

    /** Reader: the read failed; returns once the helper no longer touches the segment. */
    void abandon()
    {
        abandoned = true;
        for (int i = 0; i < chunks; i++)
        {
            states.compareAndSet(i, FREE, READER);
        }
        awaitHelper();
    }

    /** Helper: checksums filled chunks in order until none is left to claim. */
    @Override
    public void run()
    {
        int next = 0;
        while (next < chunks && !abandoned)
        {
            if (next < filledChunks)
            {
                if (states.compareAndSet(next, FREE, HELPER))
                {
                    crcs[next] = crcOf(next);
                    states.set(next, DONE);
                }
                next++;
                helperCursor = next;
            }
            else
            {
                LockSupport.parkNanos(this, WAIT_NANOS);
            }
        }
    }

    private void awaitHelper()
    {
        int spins = 0;
        for (int i = 0; i < chunks; i++)
        {
            while (states.get(i) == HELPER)
            {
                if (++spins < SPINS_BEFORE_PARKING)
                {
                    Thread.onSpinWait();
                }
                else
                {
                    LockSupport.parkNanos(this, WAIT_NANOS);
                }
            }
        }
    }

    private long chunkLength(final int index)
    {
        return Math.min(chunkSize, segment.byteSize() - index * chunkSize);
    }

    private int crcOf(final int index)
    {
        final CRC32C crc = new CRC32C();
        crc.update(segment.asSlice(index * chunkSize, chunkLength(index)).asByteBuffer());
        return (int) crc.getValue();
    }

    /**
     * The CRC32C of the concatenation A·B from the CRC32C of A, that of B and the length of B (zlib's
     * {@code crc32_combine}, with the Castagnoli polynomial).
     */
    static int combine(final int crcA, final int crcB, final long lengthB)
    {
        return multModP(x2nModP(lengthB, 3), crcA) ^ crcB;
    }

    /** a × b modulo the polynomial, both reflected. */
    private static int multModP(final int a, final int b)
    {
        if (a == 0)
        {
            return 0;
        }
        int m = 1 << 31;
        int p = 0;
        int bb = b;
        while (true)
        {
            if ((a & m) != 0)
            {
                p ^= bb;
                if ((a & (m - 1)) == 0)
                {
                    break;
                }
            }
            m >>>= 1;
            bb = (bb & 1) != 0 ? (bb >>> 1) ^ POLY : bb >>> 1;
        }
        return p;
    }

    /** x^(n × 2^k) modulo the polynomial. */
    private static int x2nModP(final long n, final int k)
    {
        int p = 1 << 31;
        long rest = n;
        int kk = k;
        while (rest != 0)
        {
            if ((rest & 1) != 0)
            {
                p = multModP(X2N[kk & 31], p);
            }
            rest >>>= 1;
            kk++;
        }
        return p;
    }
}

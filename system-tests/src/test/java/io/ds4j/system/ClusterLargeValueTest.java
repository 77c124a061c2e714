package io.ds4j.system;

import io.ds4j.client.DsClient;
import io.ds4j.client.ReadOnlyBuffer;
import io.ds4j.client.SetParam;
import io.ds4j.client.WritableBuffer;
import io.ds4j.common.StatusCode;
import io.ds4j.test.MiniCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static io.ds4j.system.SystemTests.assertCode;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A 1 GiB value written on one worker and read on another, byte-exact, in a cluster of two workers with 1.5 GiB
 * pools. The test JVM's heap is 1 GiB, so the value never lives on it: it is written in place through
 * {@code mcreate}/{@code msetBuffer}, read through the zero-copy view of {@code getBuffers}, and checked against a
 * pattern computed from each position.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ClusterLargeValueTest
{
    /** 1 GiB and a few bytes, so the last, partial word and the last send chunk are checked too. */
    private static final long SIZE = (1L << 30) + 5;

    private static MiniCluster cluster;

    @BeforeAll
    static void startCluster()
    {
        cluster = MiniCluster.builder().workers(2).poolMb(1536).metrics().start();
    }

    @AfterAll
    static void stopCluster()
    {
        if (cluster != null)
        {
            cluster.close();
        }
    }

    /** The 8-byte word at {@code index} of the value of {@code seed} (a byte past the last word takes its low byte). */
    private static long word(final long seed, final long index)
    {
        long x = (index + seed) * 0x9E3779B97F4A7C15L;
        x ^= x >>> 31;
        return x;
    }

    private static void fill(final MemorySegment target, final long seed)
    {
        final long words = target.byteSize() / 8;
        for (long i = 0; i < words; i++)
        {
            target.set(ValueLayout.JAVA_LONG_UNALIGNED, i * 8, word(seed, i));
        }
        for (long at = words * 8; at < target.byteSize(); at++)
        {
            target.set(ValueLayout.JAVA_BYTE, at, (byte) word(seed, at));
        }
    }

    /** The first offset where {@code value} differs from the pattern of {@code seed}, or -1. */
    private static long firstMismatch(final MemorySegment value, final long seed)
    {
        final long words = value.byteSize() / 8;
        for (long i = 0; i < words; i++)
        {
            if (value.get(ValueLayout.JAVA_LONG_UNALIGNED, i * 8) != word(seed, i))
            {
                return i * 8;
            }
        }
        for (long at = words * 8; at < value.byteSize(); at++)
        {
            if (value.get(ValueLayout.JAVA_BYTE, at) != (byte) word(seed, at))
            {
                return at;
            }
        }
        return -1;
    }

    private static void awaitPoolUsage(final int worker, final long atMost)
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        long used;
        while ((used = cluster.poolUsedBytes(worker)) > atMost)
        {
            if (System.nanoTime() - deadline > 0)
            {
                fail("worker " + worker + " still uses " + used + " bytes of its pool, expected at most " + atMost);
            }
            SystemTests.sleep(50);
        }
    }

    @Test
    void aOneGiBValueWrittenOnOneWorkerIsReadByteExactOnTheOther()
    {
        // the owner is the reader's worker one time and the writer's the other
        for (final int owner : new int[] {1, 0})
        {
            final String key = cluster.keyOwnedBy(owner, "gib");
            final long seed = 17 + owner;
            try (DsClient writer = cluster.connect(0); DsClient reader = cluster.connect(1))
            {
                final List<WritableBuffer> buffers = writer.kv().mcreate(List.of(key), new long[] {SIZE},
                    SetParam.DEFAULT);
                fill(buffers.getFirst().data(), seed);
                assertEquals(List.of(), writer.kv().msetBuffer(buffers));
                buffers.getFirst().close();

                final long start = System.nanoTime();
                try (ReadOnlyBuffer view = reader.kv().getBuffers(List.of(key), 0).getFirst())
                {
                    final long pulledMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                    assertTrue(view.isZeroCopy(), "the reader maps its own worker's pool");
                    assertEquals(SIZE, view.size());
                    assertEquals(-1, firstMismatch(view.data(), seed), "owner " + owner + ": the first byte that"
                        + " differs on the reader (pulled in " + pulledMs + " ms)");
                }
                assertTrue(cluster.poolUsedBytes(1) >= SIZE, "the reader keeps a replica");
                // a second read is local: the replica serves it
                try (ReadOnlyBuffer again = reader.kv().getBuffers(List.of(key), 0).getFirst())
                {
                    assertEquals(-1, firstMismatch(again.data(), seed), "owner " + owner + ": the replica");
                }
                reader.kv().delete(key);
                assertCode(StatusCode.NOT_FOUND, () -> writer.kv().get(List.of(key), 0));
            }
            // both copies are freed, so the next round's 1 GiB fits each pool again
            awaitPoolUsage(0, 1 << 20);
            awaitPoolUsage(1, 1 << 20);
        }
    }
}

package io.ds4j.system;

import io.ds4j.client.ConnectOptions.Transport;
import io.ds4j.client.DsClient;
import io.ds4j.common.DsException;
import io.ds4j.test.MiniCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static io.ds4j.system.SystemTests.KIB;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A history check in the spirit of Jepsen/Knossos (the idea, not the code). One writer on worker 0 overwrites one
 * key as fast as it can, each value carrying an increasing sequence number; readers on workers 1 and 2 (over shared
 * memory and over TCP) read it in loops. Every operation's start, end (System.nanoTime, one clock: all clients are
 * threads of this JVM) and result is recorded, then the history is checked as a register must behave:
 * <ul>
 *   <li>no read returns a value older than the newest write acknowledged before the read started, and none
 *   fails;</li>
 *   <li>no read returns a value whose write had not started when the read ended, or bytes no write wrote;</li>
 *   <li>no client sees the value go back: a read that starts after another read of the same client ended does not
 *   return an older value.</li>
 * </ul>
 * Run with the key's owner on the writer's worker and on a reader's worker.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class ClusterConsistencyTest
{
    private static final long RUN_NANOS = TimeUnit.SECONDS.toNanos(5);
    private static final int WRITER = 0;
    private static final int[] READER_WORKERS = {1, 2};
    /** Every 16th value goes through the pool (above the 500 KiB inline threshold), the others inline. */
    private static final int LARGE = 600 * KIB;
    private static final int SMALL = 64;

    private static MiniCluster cluster;

    @BeforeAll
    static void startCluster()
    {
        cluster = MiniCluster.start(3);
    }

    @AfterAll
    static void stopCluster()
    {
        if (cluster != null)
        {
            cluster.close();
        }
    }

    /** One operation: when it started and ended, and the sequence number it wrote or read (-1: it failed). */
    private record Op(long start, long end, long seq)
    {
    }

    private static byte[] valueOf(final long seq)
    {
        final byte[] value = new byte[seq % 16 == 0 ? LARGE : SMALL];
        ByteBuffer.wrap(value).order(ByteOrder.LITTLE_ENDIAN).putLong(0, seq);
        for (int i = 8; i < value.length; i++)
        {
            value[i] = (byte) (seq * 31 + i);
        }
        return value;
    }

    /** What a value that no write wrote looks like: its size, the sequence number it claims, the first bad byte. */
    private static String describe(final byte[] value)
    {
        if (value.length < 8)
        {
            return value.length + " bytes";
        }
        final long seq = ByteBuffer.wrap(value).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        final byte[] expected = seq >= 0 ? valueOf(seq) : new byte[0];
        int at = 8;
        while (at < Math.min(value.length, expected.length) && value[at] == expected[at])
        {
            at++;
        }
        int bad = 0;
        for (int i = 8; i < Math.min(value.length, expected.length); i++)
        {
            bad += value[i] != expected[i] ? 1 : 0;
        }
        return value.length + " bytes claiming seq " + seq + " (whose value has " + expected.length
            + " bytes); first difference at " + at + ", " + bad + " bytes differ";
    }

    /** The sequence number a value carries, or -2 when its bytes are not exactly what that write wrote. */
    private static long seqOf(final byte[] value)
    {
        if (value.length != SMALL && value.length != LARGE)
        {
            return -2;
        }
        final long seq = ByteBuffer.wrap(value).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        if (seq < 0 || (seq % 16 == 0) != (value.length == LARGE))
        {
            return -2;
        }
        for (int i = 8; i < value.length; i++)
        {
            if (value[i] != (byte) (seq * 31 + i))
            {
                return -2;
            }
        }
        return seq;
    }

    /** What one run recorded: the writes in order, each reader's reads in order, and the reads that failed. */
    private record History(int owner, List<Op> writes, Map<String, List<Op>> reads, List<Throwable> failures)
    {
        String counts()
        {
            final StringBuilder counts = new StringBuilder("owner on worker " + owner + ": " + writes.size()
                + " writes");
            reads.forEach((reader, ops) -> counts.append(", ").append(ops.size()).append(" reads on ").append(reader));
            return counts.append(", ").append(failures.size()).append(" failed reads").toString();
        }

        /** Enough operations for the check to mean anything. */
        void assertBusy()
        {
            assertTrue(writes.size() > 100, "too few writes: " + counts());
            reads.forEach((reader, ops) -> assertTrue(ops.size() > 100, "too few reads on " + reader + ": "
                + counts()));
        }
    }

    @ParameterizedTest(name = "owner on worker {0}")
    @ValueSource(ints = {0, 2})
    void noReadIsOlderThanAnAcknowledgedWriteOrThanWhatItsClientReadBefore(final int owner) throws Exception
    {
        final History history = run(owner);
        final List<String> violations = registerViolations(history);
        violations.addAll(monotonicViolations(history));
        assertViolations(history, violations);
        assertEquals(List.of(), history.failures().stream().limit(3).map(Throwable::toString).toList(),
            history.counts() + ": reads of a key that always exists failed");
    }

    /** Reads older than the newest write acknowledged before they started, from the future, or of unwritten bytes. */
    private static List<String> registerViolations(final History history)
    {
        final List<String> violations = new ArrayList<>();
        for (final Map.Entry<String, List<Op>> reader : history.reads().entrySet())
        {
            int acked = 0; // writes[0..acked) were acknowledged before the current read started
            int started = 0; // writes[0..started) had started before the current read ended
            for (final Op read : reader.getValue())
            {
                final List<Op> writes = history.writes();
                while (acked < writes.size() && writes.get(acked).end() - read.start() < 0)
                {
                    acked++;
                }
                while (started < writes.size() && writes.get(started).start() - read.end() < 0)
                {
                    started++;
                }
                final Op newestAcked = writes.get(acked - 1);
                if (read.seq() == -1)
                {
                    continue; // a failed read is a violation of its own, counted by the caller
                }
                if (read.seq() == -2)
                {
                    violations.add(reader.getKey() + " read bytes no write wrote");
                    history.failures().stream().filter(AssertionError.class::isInstance).findFirst()
                        .ifPresent(bad -> violations.add(bad.getMessage()));
                }
                else if (read.seq() < newestAcked.seq())
                {
                    violations.add(reader.getKey() + " read " + read.seq() + " after " + newestAcked.seq()
                        + " was acknowledged (" + (read.start() - newestAcked.end()) / 1000 + " us before the read"
                        + " started)");
                }
                else if (read.seq() > writes.get(started - 1).seq())
                {
                    violations.add(reader.getKey() + " read " + read.seq() + " before its write started");
                }
            }
        }
        return violations;
    }

    /**
     * What a register also guarantees, and causal consistency too: a client that read a value never reads an older
     * one afterwards (its reads are sequential: each starts after the one before it ended).
     */
    private static List<String> monotonicViolations(final History history)
    {
        final List<String> violations = new ArrayList<>();
        for (final Map.Entry<String, List<Op>> reader : history.reads().entrySet())
        {
            long newest = -1;
            for (final Op read : reader.getValue())
            {
                if (read.seq() >= 0 && read.seq() < newest)
                {
                    violations.add(reader.getKey() + " read " + read.seq() + " after it had read " + newest);
                }
                newest = Math.max(newest, read.seq());
            }
        }
        return violations;
    }

    private static void assertViolations(final History history, final List<String> violations)
    {
        if (!violations.isEmpty())
        {
            fail(history.counts() + "; " + violations.size() + " violations; the first: "
                + violations.subList(0, Math.min(10, violations.size())));
        }
        history.assertBusy();
        System.out.println("ClusterConsistencyTest " + history.counts() + ": no violation");
    }

    /** Runs the writer and the readers for {@link #RUN_NANOS} on a fresh key owned by worker {@code owner}. */
    private static History run(final int owner) throws Exception
    {
        final String key = cluster.keyOwnedBy(owner, "register");
        final List<Op> writes = new ArrayList<>();
        final Map<String, List<Op>> reads = new TreeMap<>();
        final List<Throwable> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
        final AtomicBoolean stop = new AtomicBoolean();
        final CountDownLatch go = new CountDownLatch(1);
        final List<Thread> threads = new ArrayList<>();
        final List<DsClient> clients = new ArrayList<>();
        try
        {
            final DsClient writer = cluster.connect(WRITER);
            clients.add(writer);
            final long firstStart = System.nanoTime();
            writer.kv().set(key, valueOf(0)); // acknowledged before any read starts
            writes.add(new Op(firstStart, System.nanoTime(), 0));
            for (final int worker : READER_WORKERS)
            {
                for (final Transport transport : Transport.values())
                {
                    final DsClient reader = cluster.connect(worker, transport);
                    clients.add(reader);
                    final List<Op> history = new ArrayList<>();
                    reads.put("worker " + worker + " " + transport, history);
                    threads.add(Thread.ofPlatform().name("reader-" + worker + "-" + transport).start(() ->
                    {
                        try
                        {
                            go.await();
                            while (!stop.get())
                            {
                                final long start = System.nanoTime();
                                long seq;
                                try
                                {
                                    final byte[] value = reader.kv().get(key);
                                    seq = seqOf(value);
                                    if (seq == -2)
                                    {
                                        failures.add(new AssertionError("bytes no write wrote: "
                                            + describe(value)));
                                    }
                                }
                                catch (final DsException e)
                                {
                                    seq = -1;
                                    failures.add(e);
                                }
                                history.add(new Op(start, System.nanoTime(), seq));
                            }
                        }
                        catch (final InterruptedException e)
                        {
                            Thread.currentThread().interrupt();
                        }
                    }));
                }
            }
            go.countDown();
            final long until = System.nanoTime() + RUN_NANOS;
            for (long seq = 1; System.nanoTime() - until < 0; seq++)
            {
                final byte[] value = valueOf(seq);
                final long start = System.nanoTime();
                writer.kv().set(key, value);
                writes.add(new Op(start, System.nanoTime(), seq));
            }
        }
        finally
        {
            stop.set(true);
            for (final Thread thread : threads)
            {
                thread.join(TimeUnit.SECONDS.toMillis(20));
            }
            clients.forEach(DsClient::close);
        }
        return new History(owner, writes, reads, failures);
    }
}

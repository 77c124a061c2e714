package io.ds4j.benchmarks;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.IntFunction;

/**
 * Runs operations on N threads at once and measures them. A {@link Group} is one contender (say "ds4j get on 2
 * threads"): its per-thread operations, each with its own connection, are opened once and run in slices.
 * {@link #interleaved} runs several groups slice by slice in turn, so every contender of a comparison is measured
 * under the same background load: on a shared machine, figures taken one after the other seconds apart can differ by
 * more than the effect being measured, while interleaved slices see the same disturbances.
 * <p>
 * Every loop ends by time or by an operation count, and threads are joined with a deadline, so a stuck call cannot
 * hang the run (the clients' own request timeouts end a blocked call; a thread still stuck after the grace time is
 * reported as a failure).
 */
final class Load
{
    /** One thread's operation; {@code i} counts that thread's calls from 0. Closed after the run. */
    interface Op extends AutoCloseable
    {
        void run(long i) throws Exception;

        @Override
        default void close() throws Exception
        {
        }
    }

    /** What a run measured: operations per second over all threads, and latencies of the measured calls. */
    record Result(double opsPerSecond, Samples latencies, long operations, double seconds, String error)
    {
        boolean ok()
        {
            return error == null;
        }

        static Result failed(final String error)
        {
            return new Result(0, new Samples(1), 0, 0, error);
        }
    }

    /**
     * Told when each measured slice of a group begins and ends (the thread start included, a few µs), e.g. to count
     * the CPU time the processes involved spent on that group's operations only.
     */
    interface SliceMeter
    {
        void begin();

        void end();
    }

    private static final int MAX_SAMPLES_PER_THREAD = 2_000_000;
    private static final long GRACE_MS = 60_000;

    private Load()
    {
    }

    /** One contender: its threads' operations, and what they measured so far over all slices. */
    static final class Group implements AutoCloseable
    {
        private final List<Op> ops = new ArrayList<>();
        private final long[] next;
        private final long[] counts;
        private final long[] elapsed;
        private final Samples[] samples;
        private String error;
        private SliceMeter meter;

        Group(final int threads, final IntFunction<Op> factory)
        {
            next = new long[threads];
            counts = new long[threads];
            elapsed = new long[threads];
            samples = new Samples[threads];
            try
            {
                for (int t = 0; t < threads; t++)
                {
                    samples[t] = new Samples(MAX_SAMPLES_PER_THREAD);
                    ops.add(factory.apply(t));
                }
            }
            catch (final RuntimeException e)
            {
                error = "could not open the connections: " + e;
            }
        }

        /** Calls {@code sliceMeter} around every measured slice of this group (not around the warm-up). */
        Group metered(final SliceMeter sliceMeter)
        {
            this.meter = sliceMeter;
            return this;
        }

        /**
         * Runs every thread once: {@code warmupMs} unmeasured, then {@code durationMs} (at most {@code maxOps} calls
         * per thread) measured and added to this group's totals. Returns false once the group has failed.
         */
        boolean slice(final long warmupMs, final long durationMs, final long maxOps)
        {
            if (error != null)
            {
                return false;
            }
            final int threads = ops.size();
            final CyclicBarrier start = new CyclicBarrier(threads);
            final String[] errors = new String[threads];
            final long[] sliceCounts = new long[threads];
            final long[] sliceElapsed = new long[threads];
            final Thread[] workers = new Thread[threads];
            final boolean metering = meter != null && durationMs > 0;
            if (metering)
            {
                meter.begin();
            }
            for (int t = 0; t < threads; t++)
            {
                final int index = t;
                workers[t] = Thread.ofPlatform().daemon().name("dsbench-load-" + t).start(() ->
                {
                    final Op op = ops.get(index);
                    final Samples mine = samples[index];
                    long i = next[index];
                    try
                    {
                        start.await(30, TimeUnit.SECONDS);
                        final long t0 = System.nanoTime();
                        final long warmEnd = t0 + TimeUnit.MILLISECONDS.toNanos(warmupMs);
                        final long end = warmEnd + TimeUnit.MILLISECONDS.toNanos(durationMs);
                        long warm = 0;
                        while (System.nanoTime() < warmEnd && warm++ < maxOps)
                        {
                            op.run(i++);
                        }
                        long measured = 0;
                        final long m0 = System.nanoTime();
                        long now = m0;
                        while (now < end && measured < maxOps)
                        {
                            final long before = now;
                            op.run(i++);
                            now = System.nanoTime();
                            mine.add(now - before);
                            measured++;
                        }
                        sliceCounts[index] = measured;
                        sliceElapsed[index] = now - m0;
                    }
                    catch (final InterruptedException | BrokenBarrierException | TimeoutException e)
                    {
                        errors[index] = "thread start failed: " + e;
                    }
                    catch (final Throwable e)
                    {
                        errors[index] = e.toString();
                    }
                    finally
                    {
                        next[index] = i;
                    }
                });
            }
            final long joinDeadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(warmupMs + durationMs + GRACE_MS);
            for (final Thread worker : workers)
            {
                final long left = TimeUnit.NANOSECONDS.toMillis(joinDeadline - System.nanoTime());
                try
                {
                    if (left <= 0 || !worker.join(Duration.ofMillis(Math.max(1, left))))
                    {
                        worker.interrupt();
                        error = "a load thread did not finish within " + GRACE_MS + " ms of its slice";
                        return false;
                    }
                }
                catch (final InterruptedException e)
                {
                    Thread.currentThread().interrupt();
                    error = "interrupted";
                    return false;
                }
            }
            if (metering)
            {
                meter.end();
            }
            for (int t = 0; t < threads; t++)
            {
                if (errors[t] != null)
                {
                    error = errors[t];
                    return false;
                }
                counts[t] += sliceCounts[t];
                elapsed[t] += sliceElapsed[t];
            }
            return true;
        }

        /** The totals over all slices run so far. */
        Result result()
        {
            if (error != null)
            {
                return Result.failed(error);
            }
            double opsPerSecond = 0;
            long total = 0;
            double seconds = 0;
            final Samples all = new Samples(MAX_SAMPLES_PER_THREAD * 2);
            for (int t = 0; t < counts.length; t++)
            {
                if (elapsed[t] > 0)
                {
                    opsPerSecond += counts[t] * 1e9 / elapsed[t];
                    seconds = Math.max(seconds, elapsed[t] / 1e9);
                }
                total += counts[t];
                all.addAll(samples[t]);
            }
            return new Result(opsPerSecond, all, total, seconds, null);
        }

        @Override
        public void close()
        {
            for (final Op op : ops)
            {
                try
                {
                    op.close();
                }
                catch (final Exception ignored)
                {
                    // closing a client after the measurement: nothing to report
                }
            }
        }
    }

    /** One contender measured alone: warm-up, then {@code durationMs}. */
    static Result run(final int threads, final IntFunction<Op> factory, final long warmupMs, final long durationMs,
        final long maxOps)
    {
        try (Group group = new Group(threads, factory))
        {
            group.slice(warmupMs, durationMs, maxOps);
            return group.result();
        }
    }

    /**
     * Several contenders measured in turn: each warms up once, then each runs {@code slices} slices of
     * {@code durationMs / slices}, in an order that rotates every round, so that all of them are measured for
     * {@code durationMs} under the same background load.
     */
    static List<Result> interleaved(final List<Group> groups, final long warmupMs, final long durationMs,
        final int slices, final long maxOpsPerSlice)
    {
        for (final Group group : groups)
        {
            group.slice(warmupMs, 0, maxOpsPerSlice);
        }
        final long sliceMs = Math.max(1, durationMs / slices);
        for (int round = 0; round < slices; round++)
        {
            for (int k = 0; k < groups.size(); k++)
            {
                groups.get((round + k) % groups.size()).slice(0, sliceMs, maxOpsPerSlice);
            }
        }
        final List<Result> results = new ArrayList<>(groups.size());
        for (final Group group : groups)
        {
            results.add(group.result());
        }
        return results;
    }
}

package io.ds4j.worker.store.l2;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Unit tests for {@link WriteBackQueue}: the bound, order, rate limit, retries, drain and close. */
class WriteBackQueueTest
{
    private static final Duration FAST_RETRY = Duration.ofMillis(10);
    private static final Duration SHORT_CLOSE = Duration.ofMillis(200);
    private static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    /** How an item ended. */
    private record Outcome(boolean written, IOException failure)
    {
    }

    /** A queued value that records its outcome (and, optionally, the order outcomes arrive in). */
    private record TestItem(String key, long version, MemorySegment data, CompletableFuture<Outcome> outcome,
        List<String> doneOrder) implements WriteBackQueue.Item
    {
        TestItem(final String key, final byte[] value, final List<String> doneOrder)
        {
            this(key, 1, MemorySegment.ofArray(value), new CompletableFuture<>(), doneOrder);
        }

        TestItem(final String key, final String value)
        {
            this(key, value.getBytes(US_ASCII), Collections.synchronizedList(new ArrayList<>()));
        }

        @Override
        public long expiresAtMs()
        {
            return 0;
        }

        @Override
        public void done(final boolean written, final IOException failure)
        {
            doneOrder.add(key);
            outcome.complete(new Outcome(written, failure));
        }

        Outcome await() throws Exception
        {
            return outcome.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    /** The real L2 behind a gate: each put announces itself, then waits until the test opens the gate. */
    private static final class GatedL2 implements L2Cache
    {
        final L2Cache delegate;
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch gate = new CountDownLatch(1);
        final List<String> putOrder = Collections.synchronizedList(new ArrayList<>());

        GatedL2(final L2Cache delegate)
        {
            this.delegate = delegate;
        }

        @Override
        public void put(final String key, final long version, final long expiresAtMs, final MemorySegment value)
            throws IOException
        {
            entered.countDown();
            try
            {
                gate.await();
            }
            catch (final InterruptedException e)
            {
                throw new IOException("interrupted", e);
            }
            putOrder.add(key);
            delegate.put(key, version, expiresAtMs, value);
        }

        @Override
        public L2Record get(final String key) throws IOException
        {
            return delegate.get(key);
        }

        @Override
        public boolean delete(final String key) throws IOException
        {
            return delegate.delete(key);
        }

        @Override
        public void stage(final String key, final long version, final long expiresAtMs, final MemorySegment value)
            throws IOException
        {
            delegate.stage(key, version, expiresAtMs, value);
        }

        @Override
        public boolean commit(final String key, final long version) throws IOException
        {
            return delegate.commit(key, version);
        }

        @Override
        public void discardStaged(final String key, final long version) throws IOException
        {
            delegate.discardStaged(key, version);
        }

        @Override
        public L2Record get(final String key, final long version) throws IOException
        {
            return delegate.get(key, version);
        }

        @Override
        public boolean deleteUpTo(final String key, final long maxVersion) throws IOException
        {
            return delegate.deleteUpTo(key, maxVersion);
        }

        @Override
        public String describe()
        {
            return "gated " + delegate.describe();
        }

        @Override
        public void close()
        {
            delegate.close();
        }
    }

    /** An L2 whose first {@code failures} puts fail (all of them for a negative count). */
    private static final class FlakyL2 implements L2Cache
    {
        final AtomicInteger attempts = new AtomicInteger();
        final int failures;
        final RuntimeException unchecked;

        FlakyL2(final int failures, final RuntimeException unchecked)
        {
            this.failures = failures;
            this.unchecked = unchecked;
        }

        @Override
        public void put(final String key, final long version, final long expiresAtMs, final MemorySegment value)
            throws IOException
        {
            final int attempt = attempts.incrementAndGet();
            if (unchecked != null)
            {
                throw unchecked;
            }
            if (failures < 0 || attempt <= failures)
            {
                throw new IOException("disk on fire (attempt " + attempt + ")");
            }
        }

        @Override
        public L2Record get(final String key)
        {
            return null;
        }

        @Override
        public boolean delete(final String key)
        {
            return false;
        }

        @Override
        public void stage(final String key, final long version, final long expiresAtMs, final MemorySegment value)
            throws IOException
        {
            throw new IOException("a write-back queue never stages");
        }

        @Override
        public boolean commit(final String key, final long version) throws IOException
        {
            throw new IOException("a write-back queue never commits");
        }

        @Override
        public void discardStaged(final String key, final long version)
        {
        }

        @Override
        public L2Record get(final String key, final long version)
        {
            return null;
        }

        @Override
        public boolean deleteUpTo(final String key, final long maxVersion)
        {
            return false;
        }

        @Override
        public String describe()
        {
            return "flaky";
        }

        @Override
        public void close()
        {
        }
    }

    @Test
    void offerRefusesOnceCapacityItemsArePending() throws Exception
    {
        try (SfsL2Cache sfs = new SfsL2Cache(dir, "c"))
        {
            final GatedL2 l2 = new GatedL2(sfs);
            try (WriteBackQueue queue = new WriteBackQueue(l2, 3, 0, FAST_RETRY, SHORT_CLOSE))
            {
                final TestItem a = new TestItem("a", "1");
                assertTrue(queue.offer(a));
                assertTrue(l2.entered.await(WAIT.toMillis(), TimeUnit.MILLISECONDS));
                // "a" is being written (blocked in L2) and still counts against the bound.
                assertTrue(queue.offer(new TestItem("b", "22")));
                assertTrue(queue.offer(new TestItem("c", "333")));
                assertFalse(queue.offer(new TestItem("d", "4444")));
                assertEquals(3, queue.depth());
                assertEquals(6, queue.bytesQueued());

                l2.gate.countDown();
                assertTrue(queue.drain(WAIT));
                assertEquals(0, queue.depth());
                assertEquals(0, queue.bytesQueued());
                assertEquals(3, queue.written());
                assertEquals(0, queue.failed());
                assertEquals(new Outcome(true, null), a.await());
                assertTrue(queue.offer(new TestItem("d", "4444")));
                assertTrue(queue.drain(WAIT));
            }
            try (L2Cache.L2Record record = sfs.get("d"))
            {
                assertEquals(4, record.size());
            }
        }
    }

    @Test
    void itemsAreWrittenAndFinishedInArrivalOrder() throws Exception
    {
        try (SfsL2Cache sfs = new SfsL2Cache(dir, "c"))
        {
            final GatedL2 l2 = new GatedL2(sfs);
            final List<String> doneOrder = Collections.synchronizedList(new ArrayList<>());
            final List<String> offered = new ArrayList<>();
            try (WriteBackQueue queue = new WriteBackQueue(l2, 100, 0, FAST_RETRY, SHORT_CLOSE))
            {
                for (int i = 0; i < 40; i++)
                {
                    // Keys whose order differs from their sorted or hashed order.
                    final String key = "key-" + (i * 37 % 40);
                    offered.add(key);
                    assertTrue(queue.offer(new TestItem(key, ("v" + i).getBytes(US_ASCII), doneOrder)));
                }
                l2.gate.countDown();
                assertTrue(queue.drain(WAIT));
                assertEquals(offered, l2.putOrder);
                assertEquals(offered, doneOrder);
                assertEquals(40, queue.written());
            }
        }
    }

    @Test
    void writesAreRateLimited() throws Exception
    {
        final int items = 10;
        final int size = 1 << 20;
        try (SfsL2Cache sfs = new SfsL2Cache(dir, "c"); WriteBackQueue queue = new WriteBackQueue(sfs, 100, 4L << 20))
        {
            final long start = System.nanoTime();
            for (int i = 0; i < items; i++)
            {
                assertTrue(queue.offer(new TestItem("blob" + i, new byte[size],
                    Collections.synchronizedList(new ArrayList<>()))));
            }
            assertTrue(queue.bytesQueued() > 0);
            assertTrue(queue.drain(WAIT));
            final long elapsedMs = (System.nanoTime() - start) / 1_000_000;
            // 10 MiB at 4 MiB/s with a quarter-second bucket: about 2.25 s. Loose bounds for slow machines.
            assertTrue(elapsedMs >= 1_500, "10 MiB at 4 MiB/s took only " + elapsedMs + " ms");
            assertTrue(elapsedMs < 9_000, "10 MiB at 4 MiB/s took " + elapsedMs + " ms");
            assertEquals(items, queue.written());
        }
    }

    @Test
    void aFailingPutIsRetriedThenReported() throws Exception
    {
        final FlakyL2 l2 = new FlakyL2(-1, null);
        try (WriteBackQueue queue = new WriteBackQueue(l2, 10, 0, FAST_RETRY, SHORT_CLOSE))
        {
            final TestItem item = new TestItem("doomed", "x");
            assertTrue(queue.offer(item));
            final Outcome outcome = item.await();
            assertFalse(outcome.written());
            assertNotNull(outcome.failure());
            assertTrue(outcome.failure().getMessage().contains("attempt 4"), outcome.failure().getMessage());
            assertTrue(queue.drain(WAIT));
            assertEquals(1 + WriteBackQueue.MAX_RETRIES, l2.attempts.get());
            assertEquals(1, queue.failed());
            assertEquals(0, queue.written());
        }
    }

    @Test
    void aTransientFailureIsRetriedToSuccess() throws Exception
    {
        final FlakyL2 l2 = new FlakyL2(2, null);
        try (WriteBackQueue queue = new WriteBackQueue(l2, 10, 0, FAST_RETRY, SHORT_CLOSE))
        {
            final TestItem item = new TestItem("lucky", "x");
            assertTrue(queue.offer(item));
            assertEquals(new Outcome(true, null), item.await());
            assertEquals(3, l2.attempts.get());
            assertTrue(queue.drain(WAIT));
            assertEquals(1, queue.written());
        }
    }

    @Test
    void anUncheckedFailureIsNotRetried() throws Exception
    {
        final FlakyL2 l2 = new FlakyL2(0, new IllegalStateException("L2 closed"));
        try (WriteBackQueue queue = new WriteBackQueue(l2, 10, 0, FAST_RETRY, SHORT_CLOSE))
        {
            final TestItem item = new TestItem("k", "x");
            assertTrue(queue.offer(item));
            final Outcome outcome = item.await();
            assertFalse(outcome.written());
            assertInstanceOf(IllegalStateException.class, outcome.failure().getCause());
            assertEquals(1, l2.attempts.get());
        }
    }

    @Test
    void aThrowingDoneCallbackDoesNotStopTheFlusher() throws Exception
    {
        final FlakyL2 l2 = new FlakyL2(0, null);
        try (WriteBackQueue queue = new WriteBackQueue(l2, 10, 0, FAST_RETRY, SHORT_CLOSE))
        {
            final TestItem bad = new TestItem("bad", 1, MemorySegment.ofArray(new byte[1]), new CompletableFuture<>(),
                null);
            final TestItem good = new TestItem("good", "x");
            assertTrue(queue.offer(bad));
            assertTrue(queue.offer(good));
            assertEquals(new Outcome(true, null), good.await());
            assertTrue(queue.drain(WAIT));
            assertEquals(2, queue.written());
        }
    }

    @Test
    void drainWaitsForTheQueueOrTimesOut() throws Exception
    {
        try (SfsL2Cache sfs = new SfsL2Cache(dir, "c"))
        {
            final GatedL2 l2 = new GatedL2(sfs);
            try (WriteBackQueue queue = new WriteBackQueue(l2, 10, 0, FAST_RETRY, SHORT_CLOSE))
            {
                assertTrue(queue.drain(Duration.ZERO));
                assertTrue(queue.offer(new TestItem("k", "v")));
                assertFalse(queue.drain(Duration.ofMillis(100)));
                assertEquals(1, queue.depth());
                l2.gate.countDown();
                assertTrue(queue.drain(WAIT));
                try (L2Cache.L2Record record = sfs.get("k"))
                {
                    assertNotNull(record);
                }
            }
        }
    }

    @Test
    void closeAbandonsWhatItCannotWrite() throws Exception
    {
        try (SfsL2Cache sfs = new SfsL2Cache(dir, "c"))
        {
            final GatedL2 l2 = new GatedL2(sfs);
            final WriteBackQueue queue = new WriteBackQueue(l2, 10, 0, FAST_RETRY, SHORT_CLOSE);
            final TestItem inFlight = new TestItem("a", "1");
            final TestItem waitingB = new TestItem("b", "2");
            final TestItem waitingC = new TestItem("c", "3");
            assertTrue(queue.offer(inFlight));
            assertTrue(l2.entered.await(WAIT.toMillis(), TimeUnit.MILLISECONDS));
            assertTrue(queue.offer(waitingB));
            assertTrue(queue.offer(waitingC));

            queue.close();
            assertEquals(new Outcome(false, null), waitingB.await());
            assertEquals(new Outcome(false, null), waitingC.await());
            assertFalse(queue.offer(new TestItem("late", "x")));
            assertFalse(inFlight.outcome().isDone());

            // The put that close did not interrupt still completes and reports.
            l2.gate.countDown();
            assertEquals(new Outcome(true, null), inFlight.await());
            assertTrue(queue.drain(WAIT));
            assertEquals(1, queue.written());
            assertEquals(2, queue.failed());
            assertNull(sfs.get("b"));
            queue.close();
        }
    }
}

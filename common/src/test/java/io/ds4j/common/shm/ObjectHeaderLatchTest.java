package io.ds4j.common.shm;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The latch word of the object header: its bit layout, each compare-and-set transition, and threads hammering it. */
class ObjectHeaderLatchTest
{
    private static final long HEADER = 64; // a header not at offset 0, as in a real segment

    private static MemorySegment segment(final Arena arena)
    {
        final MemorySegment segment = arena.allocate(256, 64);
        ObjectHeader.init(segment, HEADER, 7, 64, 0);
        return segment;
    }

    @Test
    void tokensAreThirtyOneBitsAndNeverZero()
    {
        assertEquals(5, ObjectHeader.latchToken(5));
        assertEquals(0x7FFF_FFFF, ObjectHeader.latchToken(-1L));
        assertEquals(1, ObjectHeader.latchToken(1L << 31), "low 31 bits all zero: 1");
        assertEquals(0x1234_5678, ObjectHeader.latchToken(0x7777_0000_1234_5678L));
    }

    @Test
    void theBitsAreWhereTheLayoutSays()
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment segment = segment(arena);
            assertEquals(0, ObjectHeader.latchWord(segment, HEADER));
            assertTrue(ObjectHeader.tryReadLatch(segment, HEADER));
            assertTrue(ObjectHeader.tryReadLatch(segment, HEADER));
            assertEquals(2, ObjectHeader.latchWord(segment, HEADER));
            assertEquals(2, segment.get(ValueLayout.JAVA_LONG, HEADER + ObjectHeader.LATCH_OFFSET),
                "the word is at offset 32 of the header");

            // a writer claims it while two readers are in: bit 63 and its token, the readers still counted
            assertTrue(ObjectHeader.tryClaimWriter(segment, HEADER, 0x1234));
            final long word = ObjectHeader.latchWord(segment, HEADER);
            assertEquals(Long.MIN_VALUE | 0x1234L << 32 | 2, word);
            assertTrue(ObjectHeader.hasWriter(word));
            assertEquals(0x1234, ObjectHeader.writerToken(word));
            assertEquals(2, ObjectHeader.readerCount(word));
            assertEquals("writer token 4660 / 2 readers", ObjectHeader.describeLatch(word));
            assertFalse(ObjectHeader.tryReadLatch(segment, HEADER), "no new reader while a writer waits");
            assertFalse(ObjectHeader.tryClaimWriter(segment, HEADER, 0x99), "one writer at a time");

            assertEquals(2, ObjectHeader.releaseReaders(segment, HEADER, 5), "never below 0");
            assertEquals(0, ObjectHeader.releaseReaders(segment, HEADER, 1));
            assertFalse(ObjectHeader.releaseWriter(segment, HEADER, 0x99), "only the holder's token releases");
            assertTrue(ObjectHeader.releaseWriter(segment, HEADER, 0x1234));
            assertEquals(0, ObjectHeader.latchWord(segment, HEADER));
            assertEquals("free", ObjectHeader.describeLatch(0));
            assertFalse(ObjectHeader.releaseWriter(segment, HEADER, 0x1234));

            // the rest of the header is untouched by all of it
            assertEquals(7, ObjectHeader.allocationId(segment, HEADER));
            assertEquals(ObjectHeader.STATE_WRITING, ObjectHeader.state(segment, HEADER));
        }
    }

    @Test
    void aFullReaderCountRefusesMoreReaders()
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment segment = segment(arena);
            assertTrue(ObjectHeader.compareAndSetLatch(segment, HEADER, 0, ObjectHeader.LATCH_READERS));
            assertFalse(ObjectHeader.tryReadLatch(segment, HEADER), "the count must not carry into the token");
            assertTrue(ObjectHeader.tryClaimWriter(segment, HEADER, 3));
            assertEquals(ObjectHeader.LATCH_READERS,
                ObjectHeader.readerCount(ObjectHeader.latchWord(segment, HEADER)));
        }
    }

    /** Writers increment two counters under the write latch; readers check under read latches they are equal. */
    @Test
    void threadsHammeringTheLatchLoseNoUpdateAndSeeNoHalfWrite() throws InterruptedException
    {
        final int writers = 4;
        final int increments = 20_000;
        final int readers = 2;
        try (Arena arena = Arena.ofShared())
        {
            final MemorySegment segment = segment(arena);
            final long a = HEADER + ObjectHeader.LENGTH;
            final long b = a + 64;
            final CountDownLatch start = new CountDownLatch(1);
            final AtomicReference<Throwable> failure = new AtomicReference<>();
            final AtomicLong torn = new AtomicLong();
            final AtomicLong reads = new AtomicLong();
            final List<Thread> threads = new ArrayList<>();
            final AtomicLong writersLeft = new AtomicLong(writers);
            for (int w = 0; w < writers; w++)
            {
                final int token = w + 1;
                threads.add(Thread.ofPlatform().start(() ->
                {
                    try
                    {
                        start.await();
                        for (int i = 0; i < increments; i++)
                        {
                            while (!ObjectHeader.tryClaimWriter(segment, HEADER, token))
                            {
                                Thread.onSpinWait();
                            }
                            while (ObjectHeader.readerCount(ObjectHeader.latchWord(segment, HEADER)) != 0)
                            {
                                Thread.onSpinWait();
                            }
                            segment.set(ValueLayout.JAVA_LONG, a, segment.get(ValueLayout.JAVA_LONG, a) + 1);
                            segment.set(ValueLayout.JAVA_LONG, b, segment.get(ValueLayout.JAVA_LONG, b) + 1);
                            if (!ObjectHeader.releaseWriter(segment, HEADER, token))
                            {
                                throw new AssertionError("writer " + token + " lost its latch");
                            }
                        }
                    }
                    catch (final Throwable e)
                    {
                        failure.compareAndSet(null, e);
                    }
                    finally
                    {
                        writersLeft.decrementAndGet();
                    }
                }));
            }
            for (int r = 0; r < readers; r++)
            {
                threads.add(Thread.ofPlatform().start(() ->
                {
                    try
                    {
                        start.await();
                        while (writersLeft.get() > 0)
                        {
                            if (!ObjectHeader.tryReadLatch(segment, HEADER))
                            {
                                Thread.onSpinWait();
                                continue;
                            }
                            final long first = segment.get(ValueLayout.JAVA_LONG, a);
                            final long second = segment.get(ValueLayout.JAVA_LONG, b);
                            ObjectHeader.releaseReaders(segment, HEADER, 1);
                            reads.incrementAndGet();
                            if (first != second)
                            {
                                torn.incrementAndGet();
                            }
                        }
                    }
                    catch (final Throwable e)
                    {
                        failure.compareAndSet(null, e);
                    }
                }));
            }
            start.countDown();
            for (final Thread thread : threads)
            {
                thread.join();
            }
            assertNull(failure.get());
            assertEquals((long) writers * increments, segment.get(ValueLayout.JAVA_LONG, a), "lost updates");
            assertEquals(0, torn.get(), "torn reads in " + reads.get());
            assertTrue(reads.get() > 0, "the readers got in");
            assertEquals(0, ObjectHeader.latchWord(segment, HEADER));
        }
    }
}

package io.ds4j.worker.peer;

import io.ds4j.common.protocol.BodyReader;
import io.ds4j.common.protocol.FramedChannel;
import io.ds4j.common.protocol.StatusCodec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The writes of one served peer link: who writes them, that pipelined replies never interleave, what close drops. */
class ReplyWriterTest
{
    private static final short TYPE = 120;

    private FramedChannel served;
    private FramedChannel peer;
    private ReplyWriter replies;

    @BeforeEach
    void connect() throws IOException
    {
        try (ServerSocketChannel server = ServerSocketChannel.open())
        {
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            final SocketChannel client = SocketChannel.open(server.getLocalAddress());
            served = new FramedChannel(server.accept(), 1 << 20);
            peer = new FramedChannel(client, 1 << 20);
        }
        replies = new ReplyWriter(served, "test");
    }

    @AfterEach
    void close()
    {
        replies.close();
        served.close();
        peer.close();
    }

    /** A reply of a frame whose body is its id, then {@code bulk} raw bytes of the id's low byte. */
    private static final class TestReply implements ReplyWriter.Reply
    {
        final long id;
        final int bulk;
        final Set<String> writers;
        final AtomicInteger discarded;

        TestReply(final long id, final int bulk, final Set<String> writers, final AtomicInteger discarded)
        {
            this.id = id;
            this.bulk = bulk;
            this.writers = writers;
            this.discarded = discarded;
        }

        @Override
        public long bulkBytes()
        {
            return bulk;
        }

        @Override
        public void write(final FramedChannel channel) throws IOException
        {
            synchronized (writers)
            {
                writers.add(Thread.currentThread().isVirtual() ? "virtual" : Thread.currentThread().getName());
            }
            channel.writer().beginResponse(TYPE, id, StatusCodec.OK).putInt(bulk);
            channel.send();
            final ByteBuffer bytes = ByteBuffer.allocate(bulk);
            while (bytes.hasRemaining())
            {
                bytes.put((byte) id);
            }
            bytes.flip();
            while (bytes.hasRemaining())
            {
                channel.socket().write(bytes);
            }
        }

        @Override
        public void discard()
        {
            discarded.incrementAndGet();
        }
    }

    /** Reads {@code count} replies; each frame must be followed by exactly its own bytes. */
    private Set<Long> readReplies(final int count) throws IOException
    {
        final Set<Long> ids = new HashSet<>();
        for (int i = 0; i < count; i++)
        {
            final BodyReader reply = peer.receive();
            final long id = reply.correlationId();
            StatusCodec.readStatus(reply);
            final int bulk = reply.getInt();
            final ByteBuffer bytes = ByteBuffer.allocate(bulk);
            peer.receiveRaw(bytes);
            for (int j = 0; j < bulk; j++)
            {
                assertEquals((byte) id, bytes.get(j), "reply " + id + " carries another reply's bytes");
            }
            ids.add(id);
        }
        return ids;
    }

    @Test
    void aSmallReplyReadyOnAPlatformThreadIsWrittenByThatThread() throws IOException
    {
        final Set<String> writers = new HashSet<>();
        replies.send(new TestReply(1, 100, writers, new AtomicInteger()));
        assertEquals(Set.of(1L), readReplies(1));
        assertEquals(Set.of(Thread.currentThread().getName()), writers);
    }

    @Test
    void noVirtualThreadEverWritesAndLargeRepliesGoToTheWriterThread() throws Exception
    {
        final Set<String> writers = new HashSet<>();
        final CountDownLatch done = new CountDownLatch(2);
        Thread.ofVirtual().start(() ->
        {
            replies.send(new TestReply(1, 100, writers, new AtomicInteger()));
            done.countDown();
        });
        Thread.ofPlatform().start(() ->
        {
            replies.send(new TestReply(2, (int) ReplyWriter.INLINE_BULK + 1, writers, new AtomicInteger()));
            done.countDown();
        });
        assertTrue(done.await(5, TimeUnit.SECONDS));
        assertEquals(Set.of(1L, 2L), readReplies(2));
        assertEquals(Set.of("ds4j-peer-writer-test"), writers);
    }

    @Test
    void pipelinedRepliesFromManyThreadsNeverInterleave() throws Exception
    {
        final Set<String> writers = new HashSet<>();
        final ConcurrentLinkedQueue<Thread> threads = new ConcurrentLinkedQueue<>();
        for (int t = 0; t < 8; t++)
        {
            final int first = t * 25;
            final Thread.Builder builder = t % 2 == 0 ? Thread.ofVirtual() : Thread.ofPlatform();
            threads.add(builder.start(() ->
            {
                for (int i = first; i < first + 25; i++)
                {
                    replies.send(new TestReply(i, i % 3 == 0 ? 300_000 : 50, writers, new AtomicInteger()));
                }
            }));
        }
        final Set<Long> ids = readReplies(200);
        for (final Thread thread : threads)
        {
            thread.join();
        }
        assertEquals(200, ids.size());
        assertFalse(writers.contains("virtual"), "a virtual thread wrote: " + writers);
    }

    @Test
    void repliesStillQueuedWhenTheLinkEndsAreDiscardedNotWritten() throws Exception
    {
        final AtomicInteger discarded = new AtomicInteger();
        final Set<String> writers = new HashSet<>();
        // a reply too large for the socket buffers holds the writer thread until the peer reads
        replies.send(new TestReply(1, 32 << 20, writers, new AtomicInteger()));
        final List<TestReply> queued = List.of(new TestReply(2, 10, writers, discarded),
            new TestReply(3, 10, writers, discarded));
        queued.forEach(reply -> Thread.ofVirtual().start(() -> replies.send(reply)));
        Thread.sleep(200);
        replies.close();
        served.close(); // the blocked write fails, and the writer thread ends
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (discarded.get() < 2 && System.nanoTime() < deadline)
        {
            Thread.sleep(10);
        }
        assertEquals(2, discarded.get());
        replies.send(new TestReply(4, 10, writers, discarded));
        assertEquals(3, discarded.get(), "a reply sent after the end is discarded at once");
    }
}

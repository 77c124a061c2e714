package io.ds4j.worker.peer;

import io.ds4j.common.protocol.FramedChannel;

import java.io.IOException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Every write on one served peer link, so that they all happen on platform threads and the socket stays blocking.
 * <p>
 * Why: the JDK switches a socket to non-blocking underneath the first time a virtual thread blocks on it, for good.
 * A blocking write then still waits properly (the JDK polls), but {@code FileChannel.transferTo} into that socket
 * answers 0 whenever its buffer is full, and a sender that retries with a back-off spent ~27 ms of CPU per 64 MiB
 * where a blocking sendfile spends ~1.5 ms (docs/benchmarks.md, Cluster, C1). So no virtual thread writes here.
 * <p>
 * A reply that is ready on the connection's own (platform) thread and carries at most {@link #INLINE_BULK} bytes
 * is written by that thread at once when nobody else is writing: no hand-off in the common case of a small get. Any
 * other reply (a larger value, one computed on a virtual thread, or one that finds the link busy) is queued for
 * this link's writer thread. One lock is held for the whole of a reply, its frame and the raw bytes after it, so the
 * frames of pipelined replies never interleave; replies go out in the order they are ready.
 */
final class ReplyWriter implements AutoCloseable
{
    /** The most raw bytes after a frame that the connection's thread sends itself rather than hand to the writer. */
    static final long INLINE_BULK = 1L << 20;

    /** One reply: writes its frame (and raw bytes), or lets go of what it holds when it will never be written. */
    interface Reply
    {
        /** How many raw bytes follow the frame. */
        long bulkBytes();

        /** Writes the reply; releases whatever it holds, whether or not it succeeded. */
        void write(FramedChannel channel) throws IOException;

        /** The link ended before the reply was written: release whatever it holds. */
        void discard();
    }

    /** Put in the queue to end the writer thread. Not an interrupt: see {@link #close}. */
    private static final Reply END = new Reply()
    {
        @Override
        public long bulkBytes()
        {
            return 0;
        }

        @Override
        public void write(final FramedChannel channel)
        {
            // never written
        }

        @Override
        public void discard()
        {
            // holds nothing
        }
    };

    private final FramedChannel channel;
    private final ReentrantLock lock = new ReentrantLock();
    private final LinkedBlockingQueue<Reply> queue = new LinkedBlockingQueue<>();
    private final Thread thread;
    private volatile boolean closed;

    ReplyWriter(final FramedChannel channel, final String peer)
    {
        this.channel = channel;
        this.thread = Thread.ofPlatform().daemon().name("ds4j-peer-writer-" + peer).start(this::loop);
    }

    /** Writes {@code reply} now (small, on a platform thread, link free) or queues it for the writer thread. */
    void send(final Reply reply)
    {
        if (reply.bulkBytes() <= INLINE_BULK && !Thread.currentThread().isVirtual() && lock.tryLock())
        {
            try
            {
                write(reply);
            }
            finally
            {
                lock.unlock();
            }
            return;
        }
        queue.add(reply);
        if (closed)
        {
            drain();
        }
    }

    /** Gives back the buffers one large frame grew, unless a reply is being written at this moment. */
    void shrinkIfLarge()
    {
        if (lock.tryLock())
        {
            try
            {
                channel.shrinkIfLarge();
            }
            finally
            {
                lock.unlock();
            }
        }
    }

    private void loop()
    {
        try
        {
            while (!closed)
            {
                final Reply reply = queue.take();
                if (reply == END)
                {
                    break;
                }
                lock.lock();
                try
                {
                    write(reply);
                }
                finally
                {
                    lock.unlock();
                }
            }
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt(); // nobody interrupts it (see close); end if someone does
        }
        drain();
    }

    private void write(final Reply reply)
    {
        if (closed)
        {
            reply.discard();
            return;
        }
        try
        {
            reply.write(channel);
        }
        catch (final IOException e)
        {
            // the peer is gone: its reader fails every call it has waiting, and this link's thread ends the link
            closed = true;
            channel.close();
        }
    }

    /** Lets go of every queued reply (the end marker stays for the writer thread); each by whoever removed it. */
    private void drain()
    {
        for (final Reply left : queue)
        {
            if (left != END && queue.remove(left))
            {
                left.discard();
            }
        }
    }

    /**
     * Ends the writer thread. Not by interrupting it: an interrupt that reaches a thread inside
     * {@code FileChannel.transferTo} closes the file channel, and the segment file's channel is shared by every link.
     */
    @Override
    public void close()
    {
        closed = true;
        queue.add(END);
        drain();
    }
}

package io.ds4j.client.internal;

import io.ds4j.client.ConnectOptions;
import io.ds4j.common.DsException;
import io.ds4j.common.StatusCode;
import io.ds4j.common.protocol.AllocationIdsCodec;
import io.ds4j.common.protocol.BodyReader;
import io.ds4j.common.protocol.FrameHeader;
import io.ds4j.common.protocol.FramedChannel;
import io.ds4j.common.protocol.HelloCodec;
import io.ds4j.common.protocol.LatchCodec;
import io.ds4j.common.protocol.MessageType;
import io.ds4j.common.protocol.ProtocolException;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

/**
 * Everything a client holds of its worker: the session (client id), the pool mapping, and a small pool of
 * connections, one per thread that is inside a call, so concurrent callers never queue behind each other. When a
 * connection breaks it reconnects (within client_reconnect_wait_s) and retries the call once; if the worker came
 * back as a new generation, the old mapping is closed first so no view of the old worker is ever read.
 */
public final class WorkerLink implements AutoCloseable
{
    private static final System.Logger LOG = System.getLogger(WorkerLink.class.getName());
    private static final long WATCHDOG_TICK_MS = 20;

    /** What one successful HELLO established; replaced as a whole on reconnect. */
    public record State(long epoch, long clientId, long generation, String workerAddress, PoolMapping mapping,
        String unixSocketPath, int inlineThreshold, int heartbeatIntervalMs, int reconnectWaitMs, int maxFrameLength)
    {
        public boolean sharedMemory()
        {
            return mapping != null;
        }
    }

    /** One request-response exchange on a borrowed connection. */
    @FunctionalInterface
    public interface Call<T>
    {
        T run(Connection connection, State state) throws IOException;
    }

    private final ConnectOptions options;
    private final ConcurrentLinkedDeque<Connection> idle = new ConcurrentLinkedDeque<>();
    private final Set<Connection> open = ConcurrentHashMap.newKeySet();
    private final long pid = ProcessHandle.current().pid();
    private final long processStartMs = ProcessHandle.current().info().startInstant()
        .map(java.time.Instant::toEpochMilli).orElse(0L);
    private volatile State state;
    /**
     * The current link's watch connection. Latch notices and BYE go on it, so the worker reads them in the order
     * they were sent: a BYE never overtakes the release of a latch, which the worker would otherwise undo twice.
     */
    private volatile Connection watchConnection;
    /**
     * Releases and aborts not sent yet. They ride ahead of the next request of any thread (or the next heartbeat),
     * so a copying get does not wait for its own release, and a region orphaned by a broken connection is given back
     * once the link works again.
     */
    private final ConcurrentLinkedQueue<Notice> deferred = new ConcurrentLinkedQueue<>();

    /** One deferred RELEASE or KV_ABORT of a region of {@code mapping}. */
    private record Notice(PoolMapping mapping, short type, long allocationId)
    {
    }
    private volatile boolean closed;
    private Thread watchdog;
    private Thread heartbeat;

    private WorkerLink(final ConnectOptions options)
    {
        this.options = options;
    }

    public static WorkerLink connect(final ConnectOptions options)
    {
        final WorkerLink link = new WorkerLink(options);
        // the watchdog runs first: a worker that accepts but never answers HELLO must not hang connect()
        link.watchdog = Thread.ofVirtual().name("ds4j-client-watchdog").start(link::watchLoop);
        try
        {
            link.establish(0, null, 0);
        }
        catch (final IOException | RuntimeException e)
        {
            link.close();
            throw new DsException(StatusCode.RPC_UNAVAILABLE, "cannot reach a worker at " + options.host() + ":"
                + options.port() + ": " + e.getMessage() + "; is it running (bin/dscli start -w --worker_address "
                + options.host() + ":" + options.port() + ")?", e);
        }
        // a platform thread: blocking I/O from a virtual thread turns the pooled socket non-blocking for good, and
        // every later request on it would pay a failed read and a poll
        link.heartbeat = Thread.ofPlatform().daemon().name("ds4j-client-heartbeat").start(link::heartbeatLoop);
        return link;
    }

    public State state()
    {
        return state;
    }

    /**
     * HELLO over TCP; then, when allowed and the pool's files can be mapped here, a Unix-socket connection that
     * joins the same session with shared memory.
     */
    private void establish(final long previousClientId, final PoolMapping previousMapping, final long previousEpoch)
        throws IOException
    {
        final long epoch = previousEpoch + 1;
        final Connection tcp = new Connection(openTcp(), epoch);
        Connection first = null;
        PoolMapping mapping = null;
        final HelloCodec.Reply reply;
        try
        {
            reply = hello(tcp, previousClientId, false);
            // the old mapping stays only for the same worker run AND the same session: a session the worker
            // reclaimed lost its pins, so views of it could see reused memory and must fail instead
            final boolean sameSession = previousMapping != null && previousMapping.valid()
                && previousMapping.generation() == reply.generation() && previousClientId == reply.clientId();
            if (options.transport() == ConnectOptions.Transport.AUTO && !reply.unixSocketPath().isEmpty())
            {
                mapping = sameSession ? previousMapping : PoolMapping.tryMap(reply.generation(), reply.segments());
            }
            if (mapping != null)
            {
                final Connection unix = new Connection(openUnix(reply.unixSocketPath()), epoch);
                final HelloCodec.Reply shared = hello(unix, reply.clientId(), true);
                if (shared.sharedMemory() && shared.clientId() == reply.clientId()
                    && shared.generation() == reply.generation())
                {
                    tcp.close();
                    first = unix;
                }
                else
                {
                    unix.close();
                    if (mapping != previousMapping)
                    {
                        mapping.close();
                    }
                    mapping = null;
                }
            }
            if (first == null)
            {
                first = tcp;
            }
        }
        catch (final IOException | RuntimeException e)
        {
            tcp.close();
            if (mapping != null && mapping != previousMapping)
            {
                mapping.close();
            }
            throw e;
        }
        if (previousMapping != null && previousMapping != mapping)
        {
            previousMapping.close();
        }
        final int reconnectWaitMs = options.reconnectWaitMs() >= 0 ? options.reconnectWaitMs()
            : reply.clientReconnectWaitS() * 1000;
        state = new State(epoch, reply.clientId(), reply.generation(), reply.workerAddress(), mapping,
            reply.unixSocketPath(), reply.inlineThreshold(), reply.heartbeatIntervalMs(), reconnectWaitMs,
            reply.maxFrameLength());
        open.add(first);
        idle.offerFirst(first);
        if (mapping != null)
        {
            watch(state);
        }
    }

    /**
     * Keeps one idle connection of the session whose only purpose is to end: the worker never writes to it, so
     * the read returns when the worker dies or ends the session. Views must stop working at that moment, not at
     * the next heartbeat, because the memory behind them is no longer reserved for this client.
     */
    private void watch(final State watched)
    {
        final Connection watcher;
        try
        {
            watcher = openConnection(watched);
        }
        catch (final IOException | RuntimeException e)
        {
            return; // the next call notices the same failure and reconnects
        }
        final Connection previous = watchConnection;
        watchConnection = watcher;
        if (previous != null)
        {
            // a reconnect that kept the session: the old watch would otherwise stay open until the client closes
            previous.close();
        }
        Thread.ofVirtual().name("ds4j-client-session-watch").start(() ->
        {
            watcher.awaitClose();
            open.remove(watcher);
            if (closed || state.epoch() != watched.epoch())
            {
                return;
            }
            watched.mapping().close();
            LOG.log(System.Logger.Level.WARNING, "the worker at {0} closed this client''s session; open buffers are"
                + " invalid, reconnecting", watched.workerAddress());
            try
            {
                reconnect(watched.epoch());
            }
            catch (final DsException e)
            {
                LOG.log(System.Logger.Level.WARNING, "reconnect failed: {0}", e.getMessage());
            }
        });
    }

    private FramedChannel openTcp() throws IOException
    {
        final SocketChannel socket = SocketChannel.open();
        try
        {
            socket.socket().connect(new InetSocketAddress(options.host(), options.port()), options.connectTimeoutMs());
            socket.setOption(StandardSocketOptions.TCP_NODELAY, true);
            return new FramedChannel(socket, FrameHeader.DEFAULT_MAX_FRAME_LENGTH);
        }
        catch (final IOException e)
        {
            socket.close();
            throw e;
        }
    }

    private static FramedChannel openUnix(final String path) throws IOException
    {
        final SocketChannel socket = SocketChannel.open(StandardProtocolFamily.UNIX);
        try
        {
            socket.connect(UnixDomainSocketAddress.of(path));
            return new FramedChannel(socket, FrameHeader.DEFAULT_MAX_FRAME_LENGTH);
        }
        catch (final IOException e)
        {
            socket.close();
            throw e;
        }
    }

    private HelloCodec.Reply hello(final Connection connection, final long clientId, final boolean wantsSharedMemory)
        throws IOException
    {
        HelloCodec.writeRequest(connection.begin(MessageType.HELLO),
            new HelloCodec.Request(pid, processStartMs, clientId, wantsSharedMemory));
        open.add(connection);
        final BodyReader reply;
        try
        {
            reply = connection.call(options.connectTimeoutMs());
        }
        finally
        {
            open.remove(connection);
        }
        final HelloCodec.Reply hello = HelloCodec.readReply(reply);
        connection.maxFrameLength(hello.maxFrameLength());
        return hello;
    }

    /** A connection of the current session, new or idle. */
    private Connection borrow(final State current) throws IOException
    {
        while (true)
        {
            final Connection candidate = idle.pollFirst();
            if (candidate == null)
            {
                return openConnection(current);
            }
            if (candidate.epoch() == current.epoch() && candidate.isOpen())
            {
                return candidate;
            }
            discard(candidate);
        }
    }

    private Connection openConnection(final State current) throws IOException
    {
        final Connection connection = new Connection(current.sharedMemory() ? openUnix(current.unixSocketPath())
            : openTcp(), current.epoch());
        try
        {
            final HelloCodec.Reply reply = hello(connection, current.clientId(), current.sharedMemory());
            if (reply.clientId() != current.clientId() || reply.generation() != current.generation()
                || reply.sharedMemory() != current.sharedMemory())
            {
                throw new IOException("the worker no longer knows this session (it restarted or reclaimed it)");
            }
        }
        catch (final IOException | RuntimeException e)
        {
            connection.close();
            throw e;
        }
        open.add(connection);
        return connection;
    }

    private void giveBack(final Connection connection)
    {
        final State current = state;
        if (!closed && connection.isOpen() && connection.epoch() == current.epoch())
        {
            idle.offerFirst(connection);
        }
        else
        {
            discard(connection);
        }
    }

    private void discard(final Connection connection)
    {
        open.remove(connection);
        connection.close();
    }

    /**
     * Runs {@code call} on a connection; when the connection breaks, reconnects and runs it once more. Calls are
     * safe to repeat: sets make a new version, reads and deletes are idempotent.
     */
    public <T> T invoke(final Call<T> call)
    {
        IOException lastFailure = null;
        for (int attempt = 0; attempt < 2; attempt++)
        {
            checkOpen();
            final State current = state;
            final Connection connection;
            try
            {
                connection = borrow(current);
            }
            catch (final IOException e)
            {
                lastFailure = e;
                reconnect(current.epoch());
                continue;
            }
            try
            {
                flushDeferred(connection, current);
                final T result = call.run(connection, current);
                giveBack(connection);
                return result;
            }
            catch (final IOException e)
            {
                discard(connection);
                lastFailure = e;
                reconnect(current.epoch());
            }
            catch (final IllegalStateException e)
            {
                if (current.mapping() == null || current.mapping().valid())
                {
                    giveBack(connection);
                    throw e;
                }
                // the session ended while this call copied from the pool: the copy is void, do it again
                discard(connection);
                lastFailure = new IOException("session ended during the call", e);
                reconnect(current.epoch());
            }
            catch (final ProtocolException e)
            {
                // a response body that breaks the protocol: nothing more on this connection can be trusted
                discard(connection);
                throw new DsException(StatusCode.RUNTIME_ERROR, "malformed response from the worker: "
                    + e.getMessage());
            }
            catch (final RuntimeException e)
            {
                giveBack(connection);
                throw e;
            }
        }
        throw new DsException(StatusCode.CLIENT_WORKER_DISCONNECT, "lost the connection to the worker at "
            + options.host() + ":" + options.port() + " twice in one call: " + lastFailure);
    }

    /** Reconnects unless another thread already did since {@code failedEpoch}. */
    private synchronized void reconnect(final long failedEpoch)
    {
        final State current = state;
        if (current.epoch() != failedEpoch || closed)
        {
            return;
        }
        Connection stale;
        while ((stale = idle.pollFirst()) != null)
        {
            discard(stale);
        }
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(current.reconnectWaitMs());
        IOException last = null;
        do
        {
            try
            {
                establish(current.clientId(), current.mapping(), current.epoch());
                if (state.generation() != current.generation())
                {
                    LOG.log(System.Logger.Level.WARNING, "worker at {0} restarted; buffers of its previous run are"
                        + " invalid", current.workerAddress());
                }
                return;
            }
            catch (final IOException | RuntimeException e)
            {
                last = e instanceof IOException io ? io : new IOException(e.getMessage(), e);
                sleepQuietly(100);
            }
        }
        while (System.nanoTime() < deadline && !closed);
        throw new DsException(StatusCode.CLIENT_WORKER_DISCONNECT, "lost the worker at " + options.host() + ":"
            + options.port() + " and could not reconnect within " + current.reconnectWaitMs() + " ms (" + last
            + "); check that the worker is running");
    }

    /** Queues a RELEASE to go ahead of the next request (see {@link #deferred}). */
    public void releaseLater(final PoolMapping mapping, final long allocationId)
    {
        deferred.add(new Notice(mapping, MessageType.RELEASE, allocationId));
    }

    /** Queues a KV_ABORT of a created, unpublished region (see {@link #deferred}). */
    public void abortLater(final PoolMapping mapping, final long allocationId)
    {
        deferred.add(new Notice(mapping, MessageType.KV_ABORT, allocationId));
    }

    /** Sends the deferred notices of the current session as at most two frames; drops those of older ones. */
    private void flushDeferred(final Connection connection, final State current) throws IOException
    {
        if (deferred.isEmpty())
        {
            return;
        }
        final List<Notice> taken = new ArrayList<>();
        Notice notice;
        while ((notice = deferred.poll()) != null)
        {
            // a region of an ended session is gone with it: the worker reclaimed it already
            if (notice.mapping() == current.mapping() && notice.mapping().valid())
            {
                taken.add(notice);
            }
        }
        try
        {
            final long[] ids = new long[taken.size()];
            for (final short type : new short[] {MessageType.RELEASE, MessageType.KV_ABORT})
            {
                int count = 0;
                for (final Notice each : taken)
                {
                    if (each.type() == type)
                    {
                        ids[count++] = each.allocationId();
                    }
                }
                if (count > 0)
                {
                    AllocationIdsCodec.write(connection.beginNoReply(type), ids, count);
                    connection.send();
                }
            }
        }
        catch (final IOException e)
        {
            deferred.addAll(taken);
            throw e;
        }
    }

    /** Returns a view's reference now; the worker ignores ids it no longer knows. Never throws. */
    public void release(final PoolMapping mapping, final long allocationId)
    {
        sendNotice(mapping, MessageType.RELEASE, allocationId);
    }

    /** Frees a region created but never published, now. Never throws. */
    public void abort(final PoolMapping mapping, final long allocationId)
    {
        sendNotice(mapping, MessageType.KV_ABORT, allocationId);
    }

    /** A no-reply RELEASE or KV_ABORT of one region of the current session; a gone worker reclaims it itself. */
    private void sendNotice(final PoolMapping mapping, final short type, final long allocationId)
    {
        final State current = state;
        if (closed || mapping != current.mapping() || !mapping.valid())
        {
            return;
        }
        try
        {
            invoke((connection, s) ->
            {
                if (s.mapping() == mapping)
                {
                    AllocationIdsCodec.write(connection.beginNoReply(type), allocationId);
                    connection.send();
                }
                return null;
            });
        }
        catch (final DsException e)
        {
            // the worker is gone: it reclaims this client's views and buffers on its own
        }
    }

    /**
     * Tells the worker, without waiting for an answer, that this client took ({@code LATCH_HELD}) or gave back
     * ({@code LATCH_RELEASED}) a latch in the header of an allocation of {@code mapping}, so that it can undo the
     * latch if this process dies. Sent on the watch connection, in order with BYE; on a pooled connection only when
     * there is no watch connection. Never throws.
     */
    public void notifyLatch(final PoolMapping mapping, final short type, final long allocationId, final int kind)
    {
        final State current = state;
        if (closed || mapping != current.mapping() || !mapping.valid())
        {
            return;
        }
        final Connection watch = watchConnection;
        if (watch != null && watch.epoch() == current.epoch())
        {
            synchronized (watch)
            {
                try
                {
                    LatchCodec.writeRequest(watch.beginNoReply(type), allocationId, kind);
                    watch.send();
                    return;
                }
                catch (final IOException e)
                {
                    // the watch connection broke: the session is probably ending; try a pooled connection
                }
            }
        }
        try
        {
            invoke((connection, s) ->
            {
                if (s.mapping() == mapping)
                {
                    LatchCodec.writeRequest(connection.beginNoReply(type), allocationId, kind);
                    connection.send();
                }
                return null;
            });
        }
        catch (final DsException e)
        {
            // the worker is gone: a new worker knows nothing of this latch, a reclaim undoes it
        }
    }

    public int requestTimeoutMs()
    {
        return options.requestTimeoutMs();
    }

    private void watchLoop()
    {
        while (!closed)
        {
            final long now = System.nanoTime();
            for (final Connection connection : open)
            {
                connection.expireIfLate(now);
            }
            sleepQuietly(WATCHDOG_TICK_MS);
        }
    }

    private void heartbeatLoop()
    {
        while (!closed)
        {
            sleepQuietly(state.heartbeatIntervalMs());
            if (closed)
            {
                return;
            }
            try
            {
                invoke((connection, s) ->
                {
                    connection.begin(MessageType.HEARTBEAT);
                    connection.call(options.requestTimeoutMs());
                    return null;
                });
            }
            catch (final DsException e)
            {
                LOG.log(System.Logger.Level.DEBUG, "heartbeat failed: {0}", e.getMessage());
            }
        }
    }

    private void checkOpen()
    {
        if (closed)
        {
            throw new DsException(StatusCode.INVALID, "this DsClient is closed");
        }
    }

    private static void sleepQuietly(final long ms)
    {
        try
        {
            Thread.sleep(ms);
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        if (watchdog != null)
        {
            watchdog.interrupt();
        }
        if (heartbeat != null)
        {
            heartbeat.interrupt();
        }
        // unmap before BYE: once the worker hears it, it gives this client's views to others
        final PoolMapping mapping = state == null ? null : state.mapping();
        if (mapping != null)
        {
            mapping.close();
        }
        // on the watch connection when there is one: after every latch notice this client sent (see notifyLatch)
        final Connection watch = watchConnection;
        final Connection last = watch != null && watch.isOpen() ? watch : idle.pollFirst();
        if (last != null)
        {
            synchronized (last)
            {
                try
                {
                    last.beginNoReply(MessageType.BYE);
                    last.send();
                }
                catch (final IOException e)
                {
                    // the worker is gone already; it reclaims the session on its own
                }
            }
        }
        for (final Connection connection : open)
        {
            connection.close();
        }
        if (last != null)
        {
            last.close();
        }
        open.clear();
        idle.clear();
    }
}

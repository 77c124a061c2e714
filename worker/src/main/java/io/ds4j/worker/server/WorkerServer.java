package io.ds4j.worker.server;

import io.ds4j.common.protocol.FramedChannel;
import io.ds4j.worker.config.WorkerConfig;
import io.ds4j.worker.kv.KvService;
import io.ds4j.worker.peer.PeerService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The worker's listeners: TCP on worker_address for every client (and the first HELLO of local ones), and a Unix
 * socket for local clients that map the pool. Each connection gets its own platform thread: a blocking read on a
 * platform thread answers a small request with the least latency, and a worker serves at most max_client_num
 * clients with a few connections each.
 */
public final class WorkerServer implements AutoCloseable
{
    private static final Logger LOG = LoggerFactory.getLogger(WorkerServer.class);
    /** sun_path holds 108 bytes including the terminating zero. */
    private static final int MAX_UNIX_PATH = 107;

    private final WorkerConfig config;
    private final KvService kv;
    private final SessionRegistry sessions;
    private final long generation;
    private final ServerSocketChannel tcp;
    private final ServerSocketChannel unix;
    private final Path unixPath;
    private final Set<ConnectionHandler> connections = ConcurrentHashMap.newKeySet();
    private final AtomicInteger connectionIds = new AtomicInteger();
    private final int maxFrameLength;
    private volatile boolean closed;
    /** Serves the connections of other workers; null when standalone (a peer link is then refused). */
    private volatile PeerService peers;

    public WorkerServer(final WorkerConfig config, final KvService kv, final SessionRegistry sessions,
        final long generation) throws IOException
    {
        this.config = config;
        this.kv = kv;
        this.sessions = sessions;
        this.generation = generation;
        this.maxFrameLength = ConnectionHandler.frameLimit(kv.store().pool().capacity());
        tcp = ServerSocketChannel.open();
        try
        {
            tcp.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            tcp.bind(new InetSocketAddress(config.bindAddress().host(), config.bindAddress().port()), 256);
        }
        catch (final BindException e)
        {
            tcp.close();
            throw new IOException("cannot listen on " + config.bindAddress() + ": " + e.getMessage()
                + " (is another worker or program using that port? pick another --worker_address)", e);
        }
        if (config.ipcThroughSharedMemory())
        {
            unixPath = config.unixDomainSocketDir().resolve("ds4j-" + config.workerAddress().host() + "_"
                + config.workerAddress().port() + ".sock");
            if (unixPath.toString().length() > MAX_UNIX_PATH)
            {
                tcp.close();
                throw new IOException("Unix socket path " + unixPath + " is longer than " + MAX_UNIX_PATH
                    + " bytes; pass a shorter --unix_domain_socket_dir (or dscli -d)");
            }
            Files.createDirectories(config.unixDomainSocketDir());
            Files.deleteIfExists(unixPath);
            unix = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            unix.bind(UnixDomainSocketAddress.of(unixPath), 256);
        }
        else
        {
            unixPath = null;
            unix = null;
        }
    }

    public void start()
    {
        Thread.ofPlatform().daemon().name("ds4j-accept-tcp").start(() -> acceptLoop(tcp, false));
        if (unix != null)
        {
            Thread.ofPlatform().daemon().name("ds4j-accept-uds").start(() -> acceptLoop(unix, true));
        }
        LOG.info("listening on tcp {}{}", config.bindAddress(), unix != null ? " and unix " + unixPath : "");
    }

    private void acceptLoop(final ServerSocketChannel server, final boolean unixSocket)
    {
        while (!closed)
        {
            try
            {
                final SocketChannel socket = server.accept();
                if (!unixSocket)
                {
                    socket.setOption(StandardSocketOptions.TCP_NODELAY, true);
                }
                final String peer = unixSocket ? "unix#" + connectionIds.incrementAndGet()
                    : String.valueOf(socket.getRemoteAddress());
                final ConnectionHandler handler = new ConnectionHandler(this,
                    new FramedChannel(socket, maxFrameLength), unixSocket, peer);
                connections.add(handler);
                Thread.ofPlatform().daemon().name("ds4j-conn-" + connectionIds.incrementAndGet()).start(handler);
            }
            catch (final ClosedChannelException e)
            {
                return;
            }
            catch (final IOException e)
            {
                if (!closed)
                {
                    LOG.warn("accept failed: {}", e.toString());
                }
            }
        }
    }

    void connectionClosed(final ConnectionHandler handler)
    {
        connections.remove(handler);
    }

    /** Set once at start in a cluster, before the worker joins the ring. */
    public void peers(final PeerService service)
    {
        this.peers = service;
    }

    PeerService peers()
    {
        return peers;
    }

    KvService kv()
    {
        return kv;
    }

    SessionRegistry sessions()
    {
        return sessions;
    }

    WorkerConfig config()
    {
        return config;
    }

    long generation()
    {
        return generation;
    }

    String workerAddress()
    {
        return config.workerAddress().toString();
    }

    boolean sharedMemoryEnabled()
    {
        return unix != null;
    }

    String unixSocketPath()
    {
        return unixPath.toString();
    }

    int inlineThreshold()
    {
        return config.inlineThresholdBytes();
    }

    int maxFrameLength()
    {
        return maxFrameLength;
    }

    public int connectionCount()
    {
        return connections.size();
    }

    @Override
    public void close()
    {
        closed = true;
        try
        {
            tcp.close();
            if (unix != null)
            {
                unix.close();
                Files.deleteIfExists(unixPath);
            }
        }
        catch (final IOException e)
        {
            LOG.warn("closing listeners: {}", e.toString());
        }
        connections.forEach(ConnectionHandler::close);
    }
}

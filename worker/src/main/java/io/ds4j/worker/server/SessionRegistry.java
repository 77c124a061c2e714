package io.ds4j.worker.server;

import io.ds4j.common.DsException;
import io.ds4j.common.StatusCode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Collection;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.security.SecureRandom;

/** The live client sessions, and the reaper that reclaims those whose client is gone. */
public final class SessionRegistry
{
    private static final Logger LOG = LoggerFactory.getLogger(SessionRegistry.class);

    private final ConcurrentHashMap<Long, ClientSession> sessions = new ConcurrentHashMap<>();
    /** Client ids are random: a client reconnecting after a worker restart must never join someone else's session. */
    private final SecureRandom clientIds = new SecureRandom();
    private final int maxClients;
    private final long deadTimeoutNanos;

    public SessionRegistry(final int maxClients, final int clientDeadTimeoutS)
    {
        this.maxClients = maxClients;
        this.deadTimeoutNanos = TimeUnit.SECONDS.toNanos(clientDeadTimeoutS);
    }

    /** The session of a reconnecting client, or a new one (also when the id is unknown, e.g. a worker restart). */
    public synchronized ClientSession join(final long clientId, final long pid)
    {
        if (clientId != 0)
        {
            final ClientSession existing = sessions.get(clientId);
            if (existing != null && existing.pid() == pid)
            {
                return existing;
            }
        }
        if (sessions.size() >= maxClients)
        {
            throw new DsException(StatusCode.TRY_AGAIN, "the worker already serves " + sessions.size()
                + " clients (max_client_num=" + maxClients + "); retry later or raise --max_client_num");
        }
        long id;
        do
        {
            id = clientIds.nextLong(1, Long.MAX_VALUE);
        }
        while (sessions.containsKey(id));
        final ClientSession session = new ClientSession(id, pid);
        sessions.put(session.clientId(), session);
        LOG.info("client {} (pid {}) registered", session.clientId(), pid);
        return session;
    }

    public Collection<ClientSession> sessions()
    {
        return sessions.values();
    }

    /**
     * Reclaims sessions whose client has had no connection, or sent nothing, for client_dead_timeout_s. A live
     * client heartbeats, and a dead one's sockets were closed by its kernel, so either way we get here.
     */
    public void reap()
    {
        final long now = System.nanoTime();
        for (final ClientSession session : sessions.values())
        {
            final boolean disconnected = session.connectionCount() == 0
                && now - session.idleSinceNanos() > deadTimeoutNanos;
            final boolean silent = now - session.lastSeenNanos() > deadTimeoutNanos;
            if (disconnected || silent)
            {
                synchronized (this)
                {
                    sessions.remove(session.clientId(), session);
                }
                final int pins = session.pinnedObjects();
                final int pending = session.pendingCount();
                session.closeConnections();
                session.reclaim();
                LOG.info("client {} (pid {}) {}; reclaimed {} views and {} unpublished buffers", session.clientId(),
                    session.pid(), disconnected ? "disconnected" : "stopped heartbeating", pins, pending);
            }
        }
    }

    public void closeAll()
    {
        sessions.values().forEach(session ->
        {
            session.closeConnections();
            session.reclaim();
        });
        sessions.clear();
    }
}

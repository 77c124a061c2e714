package io.ds4j.worker.server;

import io.ds4j.common.DsException;
import io.ds4j.common.StatusCode;
import io.ds4j.worker.device.DeviceObjectRegistry;
import io.ds4j.worker.object.ObjectService;
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
    /** The object interface: serves the object messages and undoes what an ended session held; null without it. */
    private final ObjectService objects;
    /** Device objects: their bytes live in their producer's process, so they end with its session. */
    private final DeviceObjectRegistry devices = new DeviceObjectRegistry();

    public SessionRegistry(final int maxClients, final int clientDeadTimeoutS)
    {
        this(maxClients, clientDeadTimeoutS, null);
    }

    public SessionRegistry(final int maxClients, final int clientDeadTimeoutS, final ObjectService objects)
    {
        this.maxClients = maxClients;
        this.deadTimeoutNanos = TimeUnit.SECONDS.toNanos(clientDeadTimeoutS);
        this.objects = objects;
    }

    /** The object interface, or null when this registry was built without one (unit tests). */
    public ObjectService objects()
    {
        return objects;
    }

    public DeviceObjectRegistry devices()
    {
        return devices;
    }

    /** The session of a reconnecting client, or a new one (also when the id is unknown, e.g. a worker restart). */
    public synchronized ClientSession join(final long clientId, final long pid, final long processStartMs)
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
        final ClientSession session = new ClientSession(id, pid, processStartMs);
        sessions.put(session.clientId(), session);
        LOG.info("client {} (pid {}) registered", session.clientId(), pid);
        return session;
    }

    public Collection<ClientSession> sessions()
    {
        return sessions.values();
    }

    /**
     * Reclaims sessions whose client has had no connection, or sent nothing, for client_dead_timeout_s (a dead
     * client's kernel closed its sockets; a hung one stopped heartbeating) - unless the client is a process on this
     * host that still runs: it has the pool mapped, and a frozen process may read or write its views the moment it
     * resumes, so its memory stays reserved until it exits or says BYE.
     */
    public void reap()
    {
        final long now = System.nanoTime();
        for (final ClientSession session : sessions.values())
        {
            final boolean disconnected = session.connectionCount() == 0
                && now - session.idleSinceNanos() > deadTimeoutNanos;
            final boolean silent = now - session.lastSeenNanos() > deadTimeoutNanos;
            if ((disconnected || silent) && !session.isLiveLocalProcess())
            {
                end(session, disconnected ? "disconnected" : "stopped heartbeating");
            }
        }
    }

    /**
     * Ends a session now: closes its connections and gives back all it held: views and unpublished buffers, then
     * (object interface) its latches and the global references it took under its own id.
     */
    public void end(final ClientSession session, final String why)
    {
        synchronized (this)
        {
            if (!sessions.remove(session.clientId(), session))
            {
                return;
            }
        }
        final int pins = session.pinnedObjects();
        final int pending = session.pendingCount();
        session.closeConnections();
        session.reclaim();
        LOG.info("client {} (pid {}) {}; reclaimed {} views and {} unpublished buffers", session.clientId(),
            session.pid(), why, pins, pending);
        if (objects != null)
        {
            objects.sessionEnded(session.clientId(), session.pid(), session.takeLatchHolds());
        }
        devices.sessionEnded(session.clientId(), session.pid());
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

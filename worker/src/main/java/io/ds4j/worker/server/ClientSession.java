package io.ds4j.worker.server;

import io.ds4j.common.protocol.FramedChannel;
import io.ds4j.worker.kv.SetParams;
import io.ds4j.worker.store.StoredObject;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One client process, across all its connections (a client keeps a few, one per busy thread). It owns what the
 * client holds in the pool: the objects pinned by its open views and the regions it created but has not published.
 * When the client is gone for client_dead_timeout_s, {@link #reclaim()} gives all of it back.
 */
public final class ClientSession
{
    /** A region created for a key and not yet published or aborted. */
    public record Pending(String key, StoredObject object, SetParams params)
    {
    }

    private final long clientId;
    private final long pid;
    private final long processStartMs;
    /** Set once a connection of this client has come over the Unix socket: the client is on this host. */
    private volatile boolean local;
    private final Set<FramedChannel> channels = ConcurrentHashMap.newKeySet();
    private final Map<Long, Pin> pins = new HashMap<>();
    private final Map<Long, Pending> pending = new HashMap<>();
    /** Ids published lately: a publish retried after a broken connection is answered as the success it was. */
    private final Map<Long, Boolean> recentlyPublished = new java.util.LinkedHashMap<>(64, 0.75f, false)
    {
        @Override
        protected boolean removeEldestEntry(final Map.Entry<Long, Boolean> eldest)
        {
            return size() > RECENTLY_PUBLISHED;
        }
    };
    private static final int RECENTLY_PUBLISHED = 4096;
    private volatile long lastSeenNanos = System.nanoTime();
    private volatile long idleSinceNanos = System.nanoTime();
    private boolean reclaimed;

    /** How many views of one object the client holds. */
    private static final class Pin
    {
        final StoredObject object;
        int count;

        Pin(final StoredObject object)
        {
            this.object = object;
        }
    }

    ClientSession(final long clientId, final long pid, final long processStartMs)
    {
        this.clientId = clientId;
        this.pid = pid;
        this.processStartMs = processStartMs;
    }

    void markLocal()
    {
        local = true;
    }

    /**
     * True when this is a client on this host whose process still runs (same pid and start time, so a reused pid
     * does not count). Such a client may touch its mapped views at any moment, frozen or not, so its memory is
     * never given to anyone else while it lives.
     */
    boolean isLiveLocalProcess()
    {
        if (!local)
        {
            return false;
        }
        return ProcessHandle.of(pid).filter(ProcessHandle::isAlive)
            .flatMap(handle -> handle.info().startInstant())
            .map(start -> Math.abs(start.toEpochMilli() - processStartMs) < START_TIME_TOLERANCE_MS)
            .orElse(false);
    }

    /** /proc gives start times in clock ticks; both sides read the same value, rounding aside. */
    private static final long START_TIME_TOLERANCE_MS = 1000;

    public long clientId()
    {
        return clientId;
    }

    public long pid()
    {
        return pid;
    }

    void attach(final FramedChannel channel)
    {
        channels.add(channel);
        touch();
    }

    void detach(final FramedChannel channel)
    {
        channels.remove(channel);
        if (channels.isEmpty())
        {
            idleSinceNanos = System.nanoTime();
        }
    }

    int connectionCount()
    {
        return channels.size();
    }

    void touch()
    {
        lastSeenNanos = System.nanoTime();
    }

    long lastSeenNanos()
    {
        return lastSeenNanos;
    }

    long idleSinceNanos()
    {
        return idleSinceNanos;
    }

    void closeConnections()
    {
        channels.forEach(FramedChannel::close);
    }

    /** Records a view of {@code object}; the caller already holds the reference this pin keeps. */
    public synchronized boolean pin(final StoredObject object)
    {
        if (reclaimed)
        {
            return false;
        }
        pins.computeIfAbsent(object.allocationId(), id -> new Pin(object)).count++;
        return true;
    }

    /** Drops one view; unknown ids are ignored (a release may race with reclaim after a reconnect). */
    public void release(final long allocationId)
    {
        final StoredObject toRelease;
        synchronized (this)
        {
            final Pin pin = pins.get(allocationId);
            if (pin == null)
            {
                return;
            }
            if (--pin.count == 0)
            {
                pins.remove(allocationId);
            }
            toRelease = pin.object;
        }
        toRelease.release();
    }

    public synchronized boolean addPending(final Pending created)
    {
        if (reclaimed)
        {
            return false;
        }
        pending.put(created.object().allocationId(), created);
        return true;
    }

    public synchronized Pending takePending(final long allocationId)
    {
        return pending.remove(allocationId);
    }

    /** Remembers a publish so that a retry of the same request is recognised. */
    public synchronized void published(final long allocationId)
    {
        recentlyPublished.put(allocationId, Boolean.TRUE);
    }

    public synchronized boolean wasPublished(final long allocationId)
    {
        return recentlyPublished.containsKey(allocationId);
    }

    public synchronized int pinnedObjects()
    {
        return pins.size();
    }

    public synchronized int pendingCount()
    {
        return pending.size();
    }

    /** Gives back every view and unpublished region; later pins and creates are refused. */
    void reclaim()
    {
        final List<StoredObject> toRelease = new ArrayList<>();
        synchronized (this)
        {
            if (reclaimed)
            {
                return;
            }
            reclaimed = true;
            for (final Pin pin : pins.values())
            {
                for (int i = 0; i < pin.count; i++)
                {
                    toRelease.add(pin.object);
                }
            }
            pending.values().forEach(created -> toRelease.add(created.object()));
            pins.clear();
            pending.clear();
        }
        toRelease.forEach(StoredObject::release);
    }
}

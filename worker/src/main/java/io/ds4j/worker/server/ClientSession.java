package io.ds4j.worker.server;

import io.ds4j.common.ConsistencyType;
import io.ds4j.common.protocol.FramedChannel;
import io.ds4j.worker.object.ObjectService;
import io.ds4j.common.shm.ObjectHeader;
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
 * client holds in the pool: the objects pinned by its open views, the regions it created but has not published,
 * and the object latches it told the worker it holds. When the client is gone for client_dead_timeout_s,
 * {@link #reclaim()} gives the memory back; the object interface then undoes the latches ({@link #takeLatchHolds}).
 */
public final class ClientSession
{
    /** A region created for a key and not yet published or aborted; KV regions are CAUSAL, as upstream. */
    public record Pending(String key, StoredObject object, SetParams params, ConsistencyType consistency)
    {
        public Pending(final String key, final StoredObject object, final SetParams params)
        {
            this(key, object, params, ConsistencyType.CAUSAL);
        }
    }

    /**
     * The latches this client holds in one object's header, as its LATCH_HELD / LATCH_RELEASED messages counted
     * them (a count may dip below 0 for a moment when a release overtakes its hold). While any count is positive
     * the hold keeps its own reference to the object, so the header it must undo stays in place.
     */
    private static final class LatchHold
    {
        private StoredObject object;
        private int writers;
        private int readers;

        /** The object, retained for this hold; null if the client named an allocation it holds no view of. */
        public StoredObject object()
        {
            return object;
        }

        public int writers()
        {
            return writers;
        }

        public int readers()
        {
            return readers;
        }
    }

    private final long clientId;
    private final long pid;
    private final long processStartMs;
    /** Set once a connection of this client has come over the Unix socket: the client is on this host. */
    private volatile boolean local;
    private final Set<FramedChannel> channels = ConcurrentHashMap.newKeySet();
    private final Map<Long, Pin> pins = new HashMap<>();
    private final Map<Long, Pending> pending = new HashMap<>();
    private final Map<Long, LatchHold> latches = new HashMap<>();
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

    /**
     * The object of one of this client's views, with one more reference for the caller (who releases it), or null
     * when the client holds no view of that allocation. The extra reference keeps it valid even if the client
     * releases the view meanwhile.
     */
    public synchronized StoredObject retainPinned(final long allocationId)
    {
        final Pin pin = pins.get(allocationId);
        return pin != null && pin.object.tryRetain() ? pin.object : null;
    }

    /**
     * Counts a latch the client took ({@code delta} +1) or gave back (-1) in the header of one of its views or
     * created regions; ignored once the session is reclaimed.
     *
     * @param kind {@link ObjectHeader#LATCH_KIND_WRITE} or {@link ObjectHeader#LATCH_KIND_READ}
     */
    public void latchChanged(final long allocationId, final int kind, final int delta)
    {
        StoredObject toRelease = null;
        synchronized (this)
        {
            if (reclaimed)
            {
                return;
            }
            final LatchHold hold = latches.computeIfAbsent(allocationId, id -> new LatchHold());
            if (kind == ObjectHeader.LATCH_KIND_WRITE)
            {
                hold.writers += delta;
            }
            else
            {
                hold.readers += delta;
            }
            final boolean holds = hold.writers > 0 || hold.readers > 0;
            if (holds && hold.object == null)
            {
                final Pin pin = pins.get(allocationId);
                final Pending created = pending.get(allocationId);
                final StoredObject object = pin != null ? pin.object : created != null ? created.object() : null;
                if (object != null && object.tryRetain())
                {
                    hold.object = object;
                }
            }
            else if (!holds && hold.object != null)
            {
                toRelease = hold.object;
                hold.object = null;
            }
            if (hold.writers == 0 && hold.readers == 0)
            {
                latches.remove(allocationId);
            }
        }
        if (toRelease != null)
        {
            toRelease.release();
        }
    }

    /** Latch holds in progress, for tests and logs. */
    public synchronized int latchHoldCount()
    {
        return latches.size();
    }

    /**
     * Hands over the latches still held, each with its reference, to be undone in the headers; called once the
     * session is reclaimed, so no hold can be added after.
     */
    public synchronized List<ObjectService.LatchUndo> takeLatchHolds()
    {
        final List<ObjectService.LatchUndo> holds = new ArrayList<>(latches.size());
        for (final LatchHold hold : latches.values())
        {
            holds.add(new ObjectService.LatchUndo(hold.object, hold.writers, hold.readers));
        }
        latches.clear();
        return holds;
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

    /** True once the session was reclaimed: whatever it takes from now on must be given back by the taker. */
    public synchronized boolean ended()
    {
        return reclaimed;
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

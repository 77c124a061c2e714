package io.ds4j.client;

import io.ds4j.client.internal.PoolMapping;
import io.ds4j.client.internal.WorkerLink;
import io.ds4j.common.DsException;
import io.ds4j.common.StatusCode;
import io.ds4j.common.protocol.MessageType;
import io.ds4j.common.shm.ObjectHeader;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * An object's memory, from {@link ObjectClient#create} or {@link ObjectClient#get} (upstream's Buffer).
 *
 * <p>Through shared memory the buffer is the object itself, in the worker's pool: writes through
 * {@link #mutableData()} are visible to every other holder at once (PRAM), and {@link #publish()} makes a new version
 * of the same memory. The worker keeps that memory for this buffer until {@link #close()}. Over TCP
 * ({@code Transport.TCP_INLINE}, or a worker on another host) the buffer holds a local copy, and a publish sends
 * the bytes as a new version.
 *
 * <p>Latches: {@link #wLatch} / {@link #rLatch} take the object's read/write latch, which lives in the object
 * header and is shared by every process on the host (docs/shm-layout.md, "Latch word"). A waiting writer keeps new
 * readers out, so readers cannot starve it. Latches are not reentrant: a thread that takes a latch it already holds
 * (or the write latch while it reads) waits for itself until the timeout. If the holder's process dies, the worker
 * gives its latches back once it reclaims the client (after client_dead_timeout_s). On a TCP buffer the latch is
 * local to that buffer: cross-process latches need shared memory.
 *
 * <p>After {@link #seal()} the object is immutable: {@link #mutableData()}, {@link #memoryCopy}, {@link #publish()}
 * and {@link #wLatch} fail with OC_ALREADY_SEALED. A buffer is used by one thread at a time except for its latch
 * methods, which any thread may call.
 */
public final class Buffer implements AutoCloseable
{
    /** Busy-wait rounds before a latch waiter starts to park. */
    private static final int SPINS = 128;
    private static final long FIRST_PARK_NANOS = 1_000;
    private static final long MAX_PARK_NANOS = 200_000;
    /** The writer token of a local (TCP) buffer's private latch word. */
    private static final int LOCAL_TOKEN = 1;

    private final ObjectClient client;
    private final WorkerLink link;
    private final String key;
    private final CreateParam param;
    /** The 64-byte object header: in the pool, or a private word array for a local buffer. */
    private final MemorySegment header;
    private final MemorySegment data;
    private final PoolMapping mapping;
    private final long allocationId;
    /** Created and not yet published: closing it gives the memory back. */
    private volatile boolean pending;
    /** The version this buffer last published or was got as; 0 before its first publish. */
    private volatile long version;
    private volatile boolean sealed;
    private volatile boolean closed;
    private volatile boolean deprecated;
    private final AtomicInteger writeHolds = new AtomicInteger();
    private final AtomicInteger readHolds = new AtomicInteger();
    private volatile int writeToken;

    private Buffer(final ObjectClient client, final WorkerLink link, final String key, final CreateParam param,
        final MemorySegment header, final MemorySegment data, final PoolMapping mapping, final long allocationId,
        final boolean pending, final long version, final boolean sealed)
    {
        this.client = client;
        this.link = link;
        this.key = key;
        this.param = param;
        this.header = header;
        this.data = data;
        this.mapping = mapping;
        this.allocationId = allocationId;
        this.pending = pending;
        this.version = version;
        this.sealed = sealed;
    }

    /** A buffer over an object in the pool: {@code object} is its header followed by its value. */
    static Buffer shared(final ObjectClient client, final WorkerLink link, final String key, final CreateParam param,
        final MemorySegment object, final PoolMapping mapping, final long allocationId, final boolean pending,
        final long version, final boolean sealed)
    {
        return new Buffer(client, link, key, param, object.asSlice(0, ObjectHeader.LENGTH),
            object.asSlice(ObjectHeader.LENGTH), mapping, allocationId, pending, version, sealed);
    }

    /**
     * A buffer over local memory (TCP) holding a copy of {@code contents} ({@code size} zero bytes when null): its
     * latch word is private to it.
     */
    static Buffer local(final ObjectClient client, final WorkerLink link, final String key, final CreateParam param,
        final long size, final MemorySegment contents, final boolean pending, final long version, final boolean sealed)
    {
        // long[]s keep the latch word and the data 8-byte aligned, like the pool's memory: atomic and aligned
        // access works the same on both kinds of buffer
        final MemorySegment data = MemorySegment.ofArray(new long[(int) ((size + 7) / 8)]).asSlice(0, size);
        if (contents != null)
        {
            MemorySegment.copy(contents, 0, data, 0, size);
        }
        return new Buffer(client, link, key, param, MemorySegment.ofArray(new long[(int) ObjectHeader.LENGTH / 8]),
            data, null, 0, pending, version, sealed);
    }

    public String key()
    {
        return key;
    }

    public long size()
    {
        return data.byteSize();
    }

    /** True when the buffer is the object in the worker's shared memory rather than a local copy. */
    public boolean isShared()
    {
        return mapping != null;
    }

    /** Whether the object is sealed (by this buffer, or by anyone, as far as this buffer can see). */
    public boolean isSealed()
    {
        return sealed || mapping != null && mapping.valid()
            && ObjectHeader.state(header, 0) == ObjectHeader.STATE_SEALED;
    }

    // ------------------------------------------------------------------ data

    /**
     * The object's bytes, writable. Through shared memory, writes are visible to all holders at once (PRAM); take
     * {@link #wLatch} to keep readers from seeing them half-done.
     *
     * @throws DsException OC_ALREADY_SEALED after a seal, BUFFER_DEPRECATED after {@link #invalidateBuffer()}
     */
    public MemorySegment mutableData()
    {
        checkWritable();
        return data;
    }

    /** The object's bytes, read-only. */
    public MemorySegment immutableData()
    {
        checkUsable();
        return data.asReadOnly();
    }

    /** {@link #mutableData()} as a ByteBuffer over the same memory. */
    public ByteBuffer mutableByteBuffer()
    {
        return mutableData().asByteBuffer();
    }

    /** {@link #immutableData()} as a read-only ByteBuffer over the same memory. */
    public ByteBuffer immutableByteBuffer()
    {
        return immutableData().asByteBuffer();
    }

    /** Copies {@code source} to the start of the buffer. */
    public void memoryCopy(final byte[] source)
    {
        memoryCopy(MemorySegment.ofArray(source));
    }

    /**
     * Copies {@code source} to the start of the buffer.
     *
     * @throws DsException INVALID when it is larger than the buffer, OC_ALREADY_SEALED after a seal
     */
    public void memoryCopy(final MemorySegment source)
    {
        checkWritable();
        if (source.byteSize() > data.byteSize())
        {
            throw new DsException(StatusCode.INVALID, "memoryCopy of " + source.byteSize() + " bytes into the "
                + data.byteSize() + "-byte buffer of " + key);
        }
        MemorySegment.copy(source, 0, data, 0, source.byteSize());
    }

    // ------------------------------------------------------------------ publish and seal

    /** Publishes the object: the first time it becomes the key's value; later publishes make a new version. */
    public void publish()
    {
        publish(List.of());
    }

    /**
     * Publishes the object with nested keys: it holds one global reference on each (which must exist) until it
     * stops being the key's value. A later publish adds to the nested keys it already has.
     *
     * @throws DsException OC_OBJECT_NOT_IN_USED when another object has become the key's value since, NOT_FOUND for
     *                     a nested key that does not exist, OC_ALREADY_SEALED when sealed
     */
    public void publish(final List<String> nestedKeys)
    {
        checkWritable();
        client.publish(this, nestedKeys, false);
    }

    /** Publishes the object if needed and seals it: nobody can change it any more. */
    public void seal()
    {
        seal(List.of());
    }

    public void seal(final List<String> nestedKeys)
    {
        checkWritable();
        client.publish(this, nestedKeys, true);
    }

    /**
     * Gives up this buffer. The standalone worker has only the primary copy of an object, so this releases the
     * buffer's hold on it (as {@link #close()} does) and every later use of the buffer fails with
     * BUFFER_DEPRECATED; the object itself stays. In a cluster it will also drop this host's replica.
     */
    public void invalidateBuffer()
    {
        synchronized (this)
        {
            if (closed)
            {
                return;
            }
            deprecated = true;
        }
        close();
    }

    // ------------------------------------------------------------------ latches

    /**
     * Takes the write latch, waiting up to {@code timeoutMs} (0: try once). A waiting writer keeps new readers out
     * and owns the latch once the readers inside have left.
     *
     * @throws DsException TRY_AGAIN when the time is up, OC_ALREADY_SEALED for a sealed object
     */
    public void wLatch(final long timeoutMs)
    {
        checkWritable();
        checkTimeout(timeoutMs);
        final int token = token();
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        final Backoff claim = new Backoff();
        while (!ObjectHeader.tryClaimWriter(header, 0, token))
        {
            claim.pause(deadline, timeoutMs);
        }
        notifyWorker(MessageType.LATCH_HELD, ObjectHeader.LATCH_KIND_WRITE);
        final Backoff drain = new Backoff();
        try
        {
            while (ObjectHeader.readerCount(ObjectHeader.latchWord(header, 0)) != 0)
            {
                drain.pause(deadline, timeoutMs);
            }
        }
        catch (final RuntimeException e)
        {
            // timed out (or the mapping went away) while readers were inside: let the readers have it back
            if (mapping == null || mapping.valid())
            {
                ObjectHeader.releaseWriter(header, 0, token);
                notifyWorker(MessageType.LATCH_RELEASED, ObjectHeader.LATCH_KIND_WRITE);
            }
            throw e;
        }
        writeToken = token;
        writeHolds.incrementAndGet();
    }

    /** Gives the write latch back. */
    public void unWLatch()
    {
        checkNotClosed();
        if (writeHolds.get() <= 0)
        {
            throw new DsException(StatusCode.INVALID, "this buffer does not hold the write latch of " + key);
        }
        checkMapping();
        writeHolds.decrementAndGet();
        final boolean released = ObjectHeader.releaseWriter(header, 0, writeToken);
        notifyWorker(MessageType.LATCH_RELEASED, ObjectHeader.LATCH_KIND_WRITE);
        if (!released)
        {
            throw new DsException(StatusCode.RUNTIME_ERROR, "the write latch of " + key + " was no longer held by"
                + " this client (latch word: " + ObjectHeader.describeLatch(ObjectHeader.latchWord(header, 0)) + ")");
        }
    }

    /**
     * Takes a read latch, waiting up to {@code timeoutMs} (0: try once) while a writer holds or waits for it.
     *
     * @throws DsException TRY_AGAIN when the time is up
     */
    public void rLatch(final long timeoutMs)
    {
        checkUsable();
        checkTimeout(timeoutMs);
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        final Backoff backoff = new Backoff();
        while (!ObjectHeader.tryReadLatch(header, 0))
        {
            backoff.pause(deadline, timeoutMs);
        }
        notifyWorker(MessageType.LATCH_HELD, ObjectHeader.LATCH_KIND_READ);
        readHolds.incrementAndGet();
    }

    /** Gives a read latch back. */
    public void unRLatch()
    {
        checkNotClosed();
        if (readHolds.get() <= 0)
        {
            throw new DsException(StatusCode.INVALID, "this buffer does not hold a read latch of " + key);
        }
        checkMapping();
        readHolds.decrementAndGet();
        ObjectHeader.releaseReaders(header, 0, 1);
        notifyWorker(MessageType.LATCH_RELEASED, ObjectHeader.LATCH_KIND_READ);
    }

    private int token()
    {
        return mapping == null ? LOCAL_TOKEN : ObjectHeader.latchToken(link.state().clientId());
    }

    private void notifyWorker(final short type, final int kind)
    {
        if (mapping != null)
        {
            link.notifyLatch(mapping, type, allocationId, kind);
        }
    }

    /** How a latch waiter waits: a short spin, then parks that double up to 200 µs. */
    private final class Backoff
    {
        private int spins;
        private long parkNanos = FIRST_PARK_NANOS;

        /** Returns when it is time to look again; throws TRY_AGAIN past the deadline. */
        void pause(final long deadline, final long timeoutMs)
        {
            checkMapping();
            final long left = deadline - System.nanoTime();
            if (left <= 0)
            {
                throw new DsException(StatusCode.TRY_AGAIN, "latch of " + key + " is held ("
                    + ObjectHeader.describeLatch(ObjectHeader.latchWord(header, 0)) + "); timed out after "
                    + timeoutMs + " ms");
            }
            if (spins < SPINS)
            {
                spins++;
                Thread.onSpinWait();
                return;
            }
            LockSupport.parkNanos(Math.min(parkNanos, left));
            parkNanos = Math.min(2 * parkNanos, MAX_PARK_NANOS);
            if (Thread.currentThread().isInterrupted())
            {
                throw new DsException(StatusCode.INTERRUPTED, "interrupted while waiting for the latch of " + key);
            }
        }
    }

    // ------------------------------------------------------------------ state for ObjectClient

    WorkerLink link()
    {
        return link;
    }

    CreateParam param()
    {
        return param;
    }

    PoolMapping mapping()
    {
        return mapping;
    }

    long allocationId()
    {
        return allocationId;
    }

    long version()
    {
        return version;
    }

    MemorySegment contents()
    {
        return data;
    }

    /** A publish succeeded: the region is no longer pending; a seal makes the buffer read-only. */
    void published(final long newVersion, final boolean seal)
    {
        pending = false;
        if (newVersion != 0)
        {
            version = newVersion;
        }
        if (seal)
        {
            sealed = true;
        }
    }

    // ------------------------------------------------------------------ checks and close

    private void checkNotClosed()
    {
        if (deprecated)
        {
            throw new DsException(StatusCode.BUFFER_DEPRECATED, "the buffer of " + key + " was invalidated; get the"
                + " object again");
        }
        if (closed)
        {
            throw new IllegalStateException("buffer of key " + key + " is closed");
        }
    }

    private void checkMapping()
    {
        if (mapping != null)
        {
            mapping.checkValid();
        }
    }

    private void checkUsable()
    {
        checkNotClosed();
        checkMapping();
    }

    private void checkWritable()
    {
        checkUsable();
        if (isSealed())
        {
            throw new DsException(StatusCode.OC_ALREADY_SEALED, "object " + key + " is sealed: it cannot be changed"
                + " or published again");
        }
    }

    private static void checkTimeout(final long timeoutMs)
    {
        if (timeoutMs < 0)
        {
            throw new DsException(StatusCode.INVALID, "a latch timeout must be 0 (try once) or positive");
        }
    }

    /**
     * Gives back the latches this buffer still holds, then the buffer: a created buffer never published is freed,
     * a published or got one stops holding the object's memory (the object itself stays).
     */
    @Override
    public void close()
    {
        synchronized (this)
        {
            if (closed)
            {
                return;
            }
            closed = true;
        }
        if (mapping == null)
        {
            return;
        }
        if (mapping.valid())
        {
            while (writeHolds.getAndDecrement() > 0)
            {
                ObjectHeader.releaseWriter(header, 0, writeToken);
                notifyWorker(MessageType.LATCH_RELEASED, ObjectHeader.LATCH_KIND_WRITE);
            }
            while (readHolds.getAndDecrement() > 0)
            {
                ObjectHeader.releaseReaders(header, 0, 1);
                notifyWorker(MessageType.LATCH_RELEASED, ObjectHeader.LATCH_KIND_READ);
            }
        }
        if (pending)
        {
            link.abort(mapping, allocationId);
        }
        else
        {
            link.release(mapping, allocationId);
        }
    }

    @Override
    public String toString()
    {
        return "Buffer[" + key + ", " + data.byteSize() + " bytes, " + (mapping != null ? "shared" : "local")
            + (sealed ? ", sealed" : "") + (closed ? ", closed" : "") + "]";
    }
}

package io.ds4j.worker.store.l2;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;
import java.util.zip.CRC32C;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.ds4j.common.KeyRules;
import io.ds4j.common.ring.Murmur3;

/**
 * The {@code l2_cache_type=sfs} second level: one file per key in a directory on a shared (POSIX) filesystem, laid
 * out so that any worker given the same {@code sfs_path} and cluster name finds what another wrote. The layout is
 * specified in {@code docs/l2-layout.md}; in short:
 *
 * <pre>
 * &lt;sfs_path&gt;/ds4j-l2/&lt;cluster_name or "default"&gt;/
 *     layout                      "ds4j-l2 sfs layout 1\n": the directory scheme below
 *     00/ .. ff/                  256 buckets (created on first use): top byte of Murmur3_32(key UTF-8,
 *                                 seed 0), lowercase hex
 *         &lt;key&gt;                   the key itself when it is at most 200 characters of the key alphabet
 *                                 and not "." or ".."
 *         &lt;sha-256 hex&gt;~h         any other key (longer, "." / "..", or outside the alphabet)
 *         &lt;name&gt;~v&lt;version&gt;~&lt;pid&gt;-&lt;random&gt;
 *                                 a staged WRITE_THROUGH version, not yet the key's record (see below), by the
 *                                 instance the suffix names
 *         ~tmp-&lt;pid&gt;-&lt;random&gt;     a write in progress (or a crashed writer's leftover)
 * </pre>
 *
 * {@code '~'} is not in the key alphabet, so a reserved name (hashed or temporary) never equals a literal key.
 * Every object file is a 48-byte little-endian header, the key's UTF-8 bytes, then the value:
 *
 * <pre>
 *  0  8  magic "DS4JL2R1"          24  8  expiresAtMs (epoch ms, 0 = never)
 *  8  2  format version (1)        32  8  value length
 * 10  2  flags (0)                 40  4  CRC32C of the value
 * 12  4  key length in bytes       44  4  CRC32C of bytes 0..43 followed by the key bytes
 * 16  8  version
 * </pre>
 *
 * <p><b>Atomicity and durability.</b> A put writes a temporary file in the key's bucket, forces it, renames it over
 * the record ({@code rename(2)}, atomic on POSIX filesystems including NFS), then forces the bucket directory so the
 * rename itself survives a crash. A reader therefore sees the old record or the new one; a temporary file is never
 * read, and leftovers older than an hour are removed when an instance starts (younger ones may belong to another
 * worker that is still writing). A record that is damaged anyway (a truncated or bit-flipped file from a filesystem
 * that lied about fsync) is reported as a {@link CorruptL2RecordException}, never returned as data.
 *
 * <p><b>Newer wins, across processes too.</b> A put, a commit and a conditional delete ({@link #deleteUpTo}) read the
 * record's version and then rename over it (or unlink it) holding the key's lock: a stripe lock shared by every
 * instance in the JVM, and an {@code fcntl} lock on the stripe's byte of {@code ~locks} for the other workers on the
 * shared filesystem (NFS and CephFS support them). So two workers writing or deleting one key at once always leave the
 * highest version, and a reader always finds the old record or the new one. Where the filesystem refuses file locks,
 * a warning is logged once and the check and rename are atomic only within one process.
 *
 * <p><b>Staged versions.</b> A WRITE_THROUGH writer stages its version ({@link #stage}) before the key's owner decides
 * on it, and commits it ({@link #commit}) only once the owner recorded it: a write the owner refuses is dropped
 * ({@link #discardStaged}) and never replaces the record of the acknowledged value before it. A staged version whose
 * owner did not answer stays, readable by its exact version ({@link #get(String, long)}), for a reader the owner
 * sends there; it is removed with the temporary files once older than an hour.
 *
 * <p>The filesystem must be case-sensitive (keys "a" and "A" are different files) and accept the key alphabet in
 * names (NFS, CephFS, Lustre, local filesystems do; SMB does not).
 */
public final class SfsL2Cache implements L2Cache
{
    /** The directory under {@code sfs_path} that holds all clusters' L2 data. */
    public static final String ROOT_DIRECTORY = "ds4j-l2";
    /** The cluster directory used when no cluster name is configured. */
    public static final String DEFAULT_CLUSTER = "default";

    static final String LAYOUT_FILE = "layout";
    static final String LAYOUT_CONTENT = "ds4j-l2 sfs layout 1\n";
    static final byte[] MAGIC = "DS4JL2R1".getBytes(US_ASCII);
    static final int FORMAT_VERSION = 1;
    static final int HEADER_SIZE = 48;
    static final int OFF_FORMAT = 8;
    static final int OFF_FLAGS = 10;
    static final int OFF_KEY_LENGTH = 12;
    static final int OFF_VERSION = 16;
    static final int OFF_EXPIRES = 24;
    static final int OFF_VALUE_LENGTH = 32;
    static final int OFF_VALUE_CRC = 40;
    static final int OFF_HEADER_CRC = 44;
    /** Longest key stored under its own name; longer ones are hashed so names stay far below NAME_MAX (255). */
    static final int MAX_LITERAL_NAME = 200;
    /** Bounds the key length a header may claim, so a damaged header cannot make us allocate gigabytes. */
    static final int MAX_KEY_BYTES = 65_536;
    static final String TEMP_PREFIX = "~tmp-";
    static final String HASHED_SUFFIX = "~h";
    static final String STAGED_INFIX = "~v";
    static final String LOCK_FILE = "~locks";
    /** {@link #versionOf} of a file that does not exist. */
    private static final long ABSENT = Long.MIN_VALUE + 1;
    /** {@link #versionOf} of a record that holds nothing worth keeping: expired, or damaged. */
    private static final long WORTHLESS = Long.MIN_VALUE;
    /**
     * Per directory and JVM: Java refuses a second lock of one region of a file within a process (and closing any
     * channel of a file drops all of the process's locks on it), so every instance on one directory shares these.
     */
    private static final java.util.concurrent.ConcurrentHashMap<Path, SharedLocks> SHARED_LOCKS =
        new java.util.concurrent.ConcurrentHashMap<>();
    static final Duration STALE_TEMP_AGE = Duration.ofHours(1);

    private static final Logger LOG = LoggerFactory.getLogger(SfsL2Cache.class);
    private static final HexFormat HEX = HexFormat.of();
    /** Values move in slices of this size: bounds the JDK's temporary direct buffer when a segment is on heap. */
    private static final int CHUNK = 8 << 20;
    private static final int LOCK_STRIPES = 256;
    private static final int BUCKETS = 256;
    private static final int MAX_KEY_IN_MESSAGE = 100;

    private final Path root;
    private final Path[] buckets = new Path[BUCKETS];
    /** The stripe locks and lock file of this directory, one per JVM ({@link #locked}). */
    private final SharedLocks shared;
    private final LongSupplier clock;
    private final AtomicBoolean directorySyncWarned = new AtomicBoolean();
    /** Names this instance's staged files (see {@link #stagedPath}). */
    private final String instanceTag = ProcessHandle.current().pid() + "-"
        + HEX.toHexDigits(ThreadLocalRandom.current().nextInt());
    private volatile boolean closed;

    /**
     * Opens (creating when absent) the L2 directory of {@code clusterName} under {@code sfsPath}, and removes stale
     * temporary files that crashed writers left behind.
     *
     * @param clusterName the cluster's name, or null or blank for {@value #DEFAULT_CLUSTER}
     * @throws IOException when the directories cannot be created or hold another layout
     */
    public SfsL2Cache(final Path sfsPath, final String clusterName) throws IOException
    {
        this(sfsPath, clusterName, System::currentTimeMillis);
    }

    /** As the public constructor, with the clock that decides expiry and temp-file staleness (tests). */
    SfsL2Cache(final Path sfsPath, final String clusterName, final LongSupplier clock) throws IOException
    {
        Objects.requireNonNull(sfsPath, "sfsPath");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.root = sfsPath.resolve(ROOT_DIRECTORY).resolve(clusterDirectory(clusterName)).toAbsolutePath();
        Files.createDirectories(root);
        for (int i = 0; i < BUCKETS; i++)
        {
            // Created on first use: most clusters touch every bucket soon, but an idle one stays cheap to open.
            buckets[i] = root.resolve(HEX.toHexDigits((byte) i));
        }
        shared = SHARED_LOCKS.computeIfAbsent(root, SharedLocks::new);
        checkLayout();
        removeStaleTemporaryFiles();
    }

    /** The cluster's L2 directory, {@code <sfs_path>/ds4j-l2/<cluster>}. */
    public Path root()
    {
        return root;
    }

    @Override
    public void put(final String key, final long version, final long expiresAtMs, final MemorySegment value)
        throws IOException
    {
        final byte[] keyBytes = keyBytes(key);
        Objects.requireNonNull(value, "value");
        ensureOpen();
        final int hash = Murmur3.hash32(key);
        final Path bucket = bucket(hash);
        final Path temp = writeTemporary(bucket, keyBytes, version, expiresAtMs, value);
        final boolean installed;
        try
        {
            installed = locked(hash, () -> installNewest(bucket, bucket.resolve(fileName(key)), temp, version, key,
                keyBytes));
        }
        finally
        {
            deleteQuietly(temp); // gone already when it was installed
        }
        if (!installed)
        {
            LOG.debug("L2 put of {} version {} skipped: a higher version is already stored", key, version);
        }
    }

    @Override
    public void stage(final String key, final long version, final long expiresAtMs, final MemorySegment value)
        throws IOException
    {
        final byte[] keyBytes = keyBytes(key);
        Objects.requireNonNull(value, "value");
        ensureOpen();
        final Path bucket = bucket(Murmur3.hash32(key));
        final Path temp = writeTemporary(bucket, keyBytes, version, expiresAtMs, value);
        // no directory sync: the commit's (after its rename) makes the bucket durable, and an uncommitted version
        // may be lost in a crash
        Files.move(temp, stagedPath(bucket, key, version), StandardCopyOption.ATOMIC_MOVE,
            StandardCopyOption.REPLACE_EXISTING);
    }

    @Override
    public boolean commit(final String key, final long version) throws IOException
    {
        final byte[] keyBytes = keyBytes(key);
        ensureOpen();
        final int hash = Murmur3.hash32(key);
        final Path bucket = bucket(hash);
        final Path staged = stagedPath(bucket, key, version);
        return locked(hash, () ->
        {
            if (!Files.exists(staged))
            {
                throw new IOException("the staged L2 record " + staged + " of version " + version + " is gone");
            }
            try
            {
                return installNewest(bucket, bucket.resolve(fileName(key)), staged, version, key, keyBytes);
            }
            finally
            {
                deleteQuietly(staged); // gone already when it was installed
            }
        });
    }

    @Override
    public void discardStaged(final String key, final long version) throws IOException
    {
        keyBytes(key);
        ensureOpen();
        Files.deleteIfExists(stagedPath(bucket(Murmur3.hash32(key)), key, version));
    }

    @Override
    public L2Record get(final String key) throws IOException
    {
        final byte[] keyBytes = keyBytes(key);
        ensureOpen();
        final int hash = Murmur3.hash32(key);
        return open(hash, bucket(hash).resolve(fileName(key)), key, keyBytes, true);
    }

    @Override
    public L2Record get(final String key, final long version) throws IOException
    {
        final byte[] keyBytes = keyBytes(key);
        ensureOpen();
        final int hash = Murmur3.hash32(key);
        final L2Record record = open(hash, bucket(hash).resolve(fileName(key)), key, keyBytes, true);
        if (record != null && record.version() == version)
        {
            return record;
        }
        if (record != null)
        {
            record.close();
        }
        L2Record staged = open(hash, stagedPath(bucket(hash), key, version), key, keyBytes, false);
        if (staged == null)
        {
            final Path other = anyStagedPath(bucket(hash), key, version);
            staged = other == null ? null : open(hash, other, key, keyBytes, false);
        }
        if (staged != null && staged.version() != version)
        {
            staged.close();
            return null;
        }
        return staged;
    }

    /** The record at {@code path}, or null when there is none or it expired (removed when {@code removeExpired}). */
    private L2Record open(final int hash, final Path path, final String key, final byte[] keyBytes,
        final boolean removeExpired) throws IOException
    {
        final FileChannel channel;
        try
        {
            channel = FileChannel.open(path, StandardOpenOption.READ);
        }
        catch (final NoSuchFileException e)
        {
            return null;
        }
        boolean handedOut = false;
        try
        {
            final Header header = readHeader(channel, path, key, keyBytes);
            if (isExpired(header))
            {
                channel.close();
                if (removeExpired)
                {
                    removeIfExpired(hash, path, key, keyBytes);
                }
                return null;
            }
            // The open channel pins this inode: a later put installs a new file under the name, but this record
            // keeps reading the version whose header it returned.
            final SfsRecord record = new SfsRecord(key, path, channel, header);
            handedOut = true;
            return record;
        }
        finally
        {
            if (!handedOut)
            {
                closeQuietly(channel);
            }
        }
    }

    @Override
    public boolean delete(final String key) throws IOException
    {
        keyBytes(key);
        ensureOpen();
        final int hash = Murmur3.hash32(key);
        final Path bucket = bucket(hash);
        return locked(hash, () ->
        {
            final boolean removed = Files.deleteIfExists(bucket.resolve(fileName(key)));
            if (removed)
            {
                syncDirectory(bucket);
            }
            return removed;
        });
    }

    @Override
    public boolean deleteUpTo(final String key, final long maxVersion) throws IOException
    {
        final byte[] keyBytes = keyBytes(key);
        ensureOpen();
        final int hash = Murmur3.hash32(key);
        final Path bucket = bucket(hash);
        final Path target = bucket.resolve(fileName(key));
        return locked(hash, () ->
        {
            final long found = versionOf(target, key, keyBytes);
            if (found == ABSENT || found > maxVersion || !Files.deleteIfExists(target))
            {
                return false;
            }
            syncDirectory(bucket);
            return true;
        });
    }

    @Override
    public String describe()
    {
        return "sfs:" + root;
    }

    /** Marks the cache closed; records already handed out stay readable until they are closed themselves. */
    @Override
    public void close()
    {
        closed = true;
    }

    /** Where {@code key}'s record lives (whether or not it exists). */
    Path pathOf(final String key)
    {
        keyBytes(key);
        return bucket(Murmur3.hash32(key)).resolve(fileName(key));
    }

    /** The bucket directory name of {@code key}: the top byte of its Murmur3 hash, two lowercase hex digits. */
    static String bucketName(final String key)
    {
        return HEX.toHexDigits((byte) (Murmur3.hash32(key) >>> 24));
    }

    /**
     * The file name of {@code key} inside its bucket: the key itself when that is a safe name, else the SHA-256 of
     * its UTF-8 bytes in lowercase hex followed by {@value #HASHED_SUFFIX}.
     */
    static String fileName(final String key)
    {
        final boolean literal = key.length() <= MAX_LITERAL_NAME
            && KeyRules.isValid(key)
            && !".".equals(key)
            && !"..".equals(key);
        return literal ? key : sha256Hex(key) + HASHED_SUFFIX;
    }

    static String sha256Hex(final String key)
    {
        try
        {
            return HEX.formatHex(MessageDigest.getInstance("SHA-256").digest(key.getBytes(UTF_8)));
        }
        catch (final NoSuchAlgorithmException e)
        {
            throw new IllegalStateException("every JDK provides SHA-256", e);
        }
    }

    private static String clusterDirectory(final String clusterName)
    {
        if (clusterName == null || clusterName.isBlank())
        {
            return DEFAULT_CLUSTER;
        }
        if (clusterName.indexOf('/') >= 0 || clusterName.indexOf('\0') >= 0 || ".".equals(clusterName)
            || "..".equals(clusterName))
        {
            throw new IllegalArgumentException("cluster name '" + clusterName + "' cannot be a directory name");
        }
        return clusterName;
    }

    private static byte[] keyBytes(final String key)
    {
        if (key == null || key.isEmpty())
        {
            throw new IllegalArgumentException("an L2 key must not be " + (key == null ? "null" : "empty"));
        }
        final byte[] bytes = key.getBytes(UTF_8);
        if (bytes.length > MAX_KEY_BYTES)
        {
            throw new IllegalArgumentException("an L2 key is at most " + MAX_KEY_BYTES + " bytes; this one has "
                + bytes.length);
        }
        return bytes;
    }

    private Path bucket(final int hash)
    {
        return buckets[hash >>> 24];
    }

    /** Runs {@code whileHeld} holding {@code key}'s lock (tests: another process's put must wait for it). */
    void holdLockOf(final String key, final Runnable whileHeld) throws IOException
    {
        locked(Murmur3.hash32(key), () ->
        {
            whileHeld.run();
            return null;
        });
    }

    /** What {@link #locked} runs. */
    @FunctionalInterface
    private interface LockedStep<T>
    {
        T run() throws IOException;
    }

    /**
     * Runs {@code step} holding the key's lock: a stripe lock shared by every instance on this directory in this JVM,
     * and an {@code fcntl} lock on the same stripe's byte of {@code ~locks} for the other workers (processes) on the
     * shared filesystem. Where the filesystem refuses file locks, it warns once and relies on the stripe lock.
     */
    private <T> T locked(final int hash, final LockedStep<T> step) throws IOException
    {
        // the low bits, not the bucket's top byte, so that keys of one bucket still spread over the stripes
        final int stripe = hash & (LOCK_STRIPES - 1);
        final ReentrantLock lock = shared.stripes[stripe];
        lock.lock();
        try
        {
            final java.nio.channels.FileLock fileLock = shared.lock(stripe);
            try
            {
                return step.run();
            }
            finally
            {
                if (fileLock != null)
                {
                    fileLock.release();
                }
            }
        }
        finally
        {
            lock.unlock();
        }
    }

    private void ensureOpen()
    {
        if (closed)
        {
            throw new IllegalStateException("the L2 cache " + describe() + " is closed");
        }
    }

    private boolean isExpired(final Header header)
    {
        return header.expiresAtMs() > 0 && clock.getAsLong() >= header.expiresAtMs();
    }

    /** Writes the record to a new temporary file in {@code bucket}, forced to stable storage; returns its path. */
    private Path writeTemporary(final Path bucket, final byte[] keyBytes, final long version, final long expiresAtMs,
        final MemorySegment value) throws IOException
    {
        final Path temp = temporaryName(bucket);
        boolean written = false;
        try (FileChannel channel = createTemporary(bucket, temp))
        {
            final long valueLength = value.byteSize();
            final long valueOffset = HEADER_SIZE + keyBytes.length;
            // Checksum and write slice by slice, so each slice is summed while it is still in the CPU cache.
            final CRC32C crc = new CRC32C();
            for (long done = 0; done < valueLength; )
            {
                final long length = Math.min(CHUNK, valueLength - done);
                final ByteBuffer chunk = value.asSlice(done, length).asByteBuffer();
                crc.update(chunk.duplicate());
                writeFully(channel, chunk, valueOffset + done);
                done += length;
            }
            writeFully(channel, encodeHeader(keyBytes, version, expiresAtMs, valueLength, (int) crc.getValue()), 0);
            channel.force(true);
            written = true;
        }
        finally
        {
            if (!written)
            {
                deleteQuietly(temp);
            }
        }
        return temp;
    }

    private static Path temporaryName(final Path bucket)
    {
        return bucket.resolve(TEMP_PREFIX + ProcessHandle.current().pid() + "-"
            + HEX.toHexDigits(ThreadLocalRandom.current().nextLong()));
    }

    /**
     * This instance's staged file of {@code key}'s {@code version}. The instance's tag is in the name: two workers
     * may make the same version of one key (versions are clocks), and one's refusal must not remove the other's.
     */
    private Path stagedPath(final Path bucket, final String key, final long version)
    {
        return bucket.resolve(stagedPrefix(key, version) + instanceTag);
    }

    private static String stagedPrefix(final String key, final long version)
    {
        return fileName(key) + STAGED_INFIX + version + "~";
    }

    /** Another instance's staged file of the version (a listing of the bucket: only a reader's rare fallback). */
    private static Path anyStagedPath(final Path bucket, final String key, final long version) throws IOException
    {
        final String prefix = stagedPrefix(key, version);
        try (DirectoryStream<Path> staged = Files.newDirectoryStream(bucket,
            path -> path.getFileName().toString().startsWith(prefix)))
        {
            for (final Path path : staged)
            {
                return path;
            }
        }
        catch (final NoSuchFileException e)
        {
            // no bucket yet
        }
        return null;
    }

    /**
     * Makes {@code candidate} (a complete record file of {@code version}) the key's record at {@code target} unless
     * a record of a higher version is there (the same version is rewritten: a retried write-back, a new expiry).
     * Called under the key's lock ({@link #locked}), so the check and the rename are one step for every worker.
     *
     * @return whether {@code candidate} became the record (else it is left for the caller to remove)
     */
    private boolean installNewest(final Path bucket, final Path target, final Path candidate, final long version,
        final String key, final byte[] keyBytes) throws IOException
    {
        if (versionOf(target, key, keyBytes) > version)
        {
            return false;
        }
        Files.move(candidate, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        syncDirectory(bucket);
        return true;
    }

    /**
     * The version of the record file at {@code path}: {@link #ABSENT} when there is no such file, {@link #WORTHLESS}
     * when it holds nothing worth keeping (expired or damaged: an install replaces it).
     */
    private long versionOf(final Path path, final String key, final byte[] keyBytes) throws IOException
    {
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ))
        {
            final Header header = readHeader(channel, path, key, keyBytes);
            return isExpired(header) ? WORTHLESS : header.version();
        }
        catch (final NoSuchFileException e)
        {
            return ABSENT;
        }
        catch (final CorruptL2RecordException e)
        {
            LOG.warn("replacing a damaged L2 record: {}", e.getMessage());
            return WORTHLESS;
        }
    }

    /** Creates {@code temp} for writing, and its bucket first when this is the bucket's first record. */
    private FileChannel createTemporary(final Path bucket, final Path temp) throws IOException
    {
        try
        {
            return FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        }
        catch (final NoSuchFileException e)
        {
            Files.createDirectories(bucket);
            // The bucket's own entry must be durable too, or a crash could lose it with the records inside.
            syncDirectory(root);
            return FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        }
    }

    /** The header followed by the key, ready to be written at offset 0. */
    static ByteBuffer encodeHeader(final byte[] keyBytes, final long version, final long expiresAtMs,
        final long valueLength, final int valueCrc)
    {
        final ByteBuffer buffer = ByteBuffer.allocate(HEADER_SIZE + keyBytes.length).order(ByteOrder.LITTLE_ENDIAN);
        buffer.put(0, MAGIC);
        buffer.putShort(OFF_FORMAT, (short) FORMAT_VERSION);
        buffer.putShort(OFF_FLAGS, (short) 0);
        buffer.putInt(OFF_KEY_LENGTH, keyBytes.length);
        buffer.putLong(OFF_VERSION, version);
        buffer.putLong(OFF_EXPIRES, expiresAtMs);
        buffer.putLong(OFF_VALUE_LENGTH, valueLength);
        buffer.putInt(OFF_VALUE_CRC, valueCrc);
        buffer.put(HEADER_SIZE, keyBytes);
        buffer.putInt(OFF_HEADER_CRC, headerCrc(buffer, keyBytes));
        return buffer;
    }

    /** CRC32C of header bytes 0..43 then the key: the key is covered so a damaged key cannot pass as another. */
    private static int headerCrc(final ByteBuffer header, final byte[] keyBytes)
    {
        final CRC32C crc = new CRC32C();
        crc.update(header.slice(0, OFF_HEADER_CRC));
        crc.update(keyBytes);
        return (int) crc.getValue();
    }

    /** Reads and checks a record's header and key; the file's size must match it exactly. */
    private static Header readHeader(final FileChannel channel, final Path path, final String key,
        final byte[] keyBytes) throws IOException
    {
        final long size = channel.size();
        if (size < HEADER_SIZE)
        {
            throw corrupt(path, key, "truncated: the file is " + size + " bytes, shorter than the " + HEADER_SIZE
                + "-byte header");
        }
        final ByteBuffer header = ByteBuffer.allocate(HEADER_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        if (!readFully(channel, header, 0))
        {
            throw corrupt(path, key, "truncated while reading the header");
        }
        if (!Arrays.equals(header.array(), 0, MAGIC.length, MAGIC, 0, MAGIC.length))
        {
            throw corrupt(path, key, "bad magic (not a ds4j L2 record)");
        }
        final int format = Short.toUnsignedInt(header.getShort(OFF_FORMAT));
        if (format != FORMAT_VERSION)
        {
            // Not damage: a newer ds4j wrote it. A plain IOException so that a put does not overwrite it.
            throw new IOException("L2 record " + path + " has format version " + format + "; this build reads "
                + FORMAT_VERSION);
        }
        final int keyLength = header.getInt(OFF_KEY_LENGTH);
        if (keyLength <= 0 || keyLength > MAX_KEY_BYTES)
        {
            throw corrupt(path, key, "bad key length " + keyLength);
        }
        if (HEADER_SIZE + (long) keyLength > size)
        {
            throw corrupt(path, key, "truncated: the file is " + size + " bytes, too short for its "
                + keyLength + "-byte key");
        }
        final ByteBuffer storedKey = ByteBuffer.allocate(keyLength);
        if (!readFully(channel, storedKey, HEADER_SIZE))
        {
            throw corrupt(path, key, "truncated while reading the key");
        }
        if (headerCrc(header, storedKey.array()) != header.getInt(OFF_HEADER_CRC))
        {
            throw corrupt(path, key, "header checksum mismatch");
        }
        if (!Arrays.equals(storedKey.array(), keyBytes))
        {
            throw corrupt(path, key, "the file holds the key '"
                + abbreviate(new String(storedKey.array(), UTF_8)) + "'");
        }
        final long valueLength = header.getLong(OFF_VALUE_LENGTH);
        final long expected = HEADER_SIZE + (long) keyLength + valueLength;
        if (valueLength < 0 || size != expected)
        {
            throw corrupt(path, key, (size < expected ? "truncated" : "trailing bytes") + ": the file is " + size
                + " bytes, its header says " + expected);
        }
        return new Header(keyLength, header.getLong(OFF_VERSION), header.getLong(OFF_EXPIRES), valueLength,
            header.getInt(OFF_VALUE_CRC));
    }

    /** Deletes an expired record, unless a put replaced it since the get looked. */
    private void removeIfExpired(final int hash, final Path path, final String key, final byte[] keyBytes)
    {
        try
        {
            locked(hash, () ->
            {
                if (versionOf(path, key, keyBytes) == WORTHLESS && Files.deleteIfExists(path))
                {
                    syncDirectory(path.getParent());
                }
                return null;
            });
        }
        catch (final IOException e)
        {
            // Best effort: the record is expired either way, and the next get looks again.
            LOG.debug("could not remove expired L2 record {}: {}", path, e.toString());
        }
    }

    /** Makes renames and unlinks in {@code directory} durable; tolerated where the filesystem cannot. */
    private void syncDirectory(final Path directory)
    {
        try (FileChannel channel = FileChannel.open(directory, StandardOpenOption.READ))
        {
            channel.force(true);
        }
        catch (final IOException e)
        {
            if (directorySyncWarned.compareAndSet(false, true))
            {
                LOG.warn("cannot fsync L2 directory {} ({}); renames rely on the filesystem's own ordering",
                    directory, e.toString());
            }
        }
    }

    private void checkLayout() throws IOException
    {
        final Path layout = root.resolve(LAYOUT_FILE);
        if (!Files.exists(layout))
        {
            // Temp and rename, as for records: two workers starting at once write the same bytes.
            final Path temp = temporaryName(root);
            try
            {
                Files.writeString(temp, LAYOUT_CONTENT, US_ASCII, StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE, StandardOpenOption.SYNC);
                Files.move(temp, layout, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            }
            finally
            {
                deleteQuietly(temp);
            }
            syncDirectory(root);
            return;
        }
        final String found = Files.readString(layout, US_ASCII);
        if (!LAYOUT_CONTENT.equals(found))
        {
            throw new IOException("the L2 directory " + root + " holds layout '" + found.strip() + "'; this build "
                + "uses '" + LAYOUT_CONTENT.strip() + "'");
        }
    }

    private void removeStaleTemporaryFiles()
    {
        final long cutoff = clock.getAsLong() - STALE_TEMP_AGE.toMillis();
        int removed = 0;
        final Path[] directories = Arrays.copyOf(buckets, BUCKETS + 1);
        // The root too: a worker that crashed while writing the layout file left its temporary file there.
        directories[BUCKETS] = root;
        for (final Path bucket : directories)
        {
            try (DirectoryStream<Path> temps = Files.newDirectoryStream(bucket, path ->
                path.getFileName().toString().startsWith(TEMP_PREFIX)
                    || path.getFileName().toString().contains(STAGED_INFIX)))
            {
                for (final Path temp : temps)
                {
                    try
                    {
                        if (Files.getLastModifiedTime(temp).toMillis() < cutoff && Files.deleteIfExists(temp))
                        {
                            removed++;
                        }
                    }
                    catch (final IOException e)
                    {
                        LOG.warn("cannot remove stale L2 temporary file {}: {}", temp, e.toString());
                    }
                }
            }
            catch (final NoSuchFileException e)
            {
                // Not created yet: nothing was ever written there.
            }
            catch (final IOException e)
            {
                LOG.warn("cannot list L2 bucket {}: {}", bucket, e.toString());
            }
        }
        if (removed > 0)
        {
            LOG.info("removed {} stale temporary or staged file(s) left by crashed or unanswered writers under {}", removed, root);
        }
    }

    private static void writeFully(final FileChannel channel, final ByteBuffer buffer, final long position)
        throws IOException
    {
        long at = position;
        while (buffer.hasRemaining())
        {
            at += channel.write(buffer, at);
        }
    }

    /** Fills {@code buffer} from {@code position}; false when the file ends first. */
    private static boolean readFully(final FileChannel channel, final ByteBuffer buffer, final long position)
        throws IOException
    {
        long at = position;
        while (buffer.hasRemaining())
        {
            final int read = channel.read(buffer, at);
            if (read < 0)
            {
                return false;
            }
            at += read;
        }
        return true;
    }

    private static CorruptL2RecordException corrupt(final Path path, final String key, final String reason)
    {
        return new CorruptL2RecordException("corrupt L2 record " + path + " for key '" + abbreviate(key) + "': "
            + reason);
    }

    private static String abbreviate(final String key)
    {
        return key.length() <= MAX_KEY_IN_MESSAGE ? key : key.substring(0, MAX_KEY_IN_MESSAGE) + "...("
            + key.length() + " chars)";
    }

    private static void deleteQuietly(final Path path)
    {
        try
        {
            Files.deleteIfExists(path);
        }
        catch (final IOException e)
        {
            LOG.debug("cannot delete {}: {}", path, e.toString());
        }
    }

    private static void closeQuietly(final FileChannel channel)
    {
        try
        {
            channel.close();
        }
        catch (final IOException e)
        {
            LOG.debug("cannot close an L2 record: {}", e.toString());
        }
    }

    /** A checked header: what the record claims about itself. */
    private record Header(int keyLength, long version, long expiresAtMs, long valueLength, int valueCrc)
    {
        long valueOffset()
        {
            return HEADER_SIZE + (long) keyLength;
        }
    }

    /** The stripe locks of one directory in this JVM, and the lock file whose bytes stand for them across processes. */
    private static final class SharedLocks
    {
        final ReentrantLock[] stripes = new ReentrantLock[LOCK_STRIPES];
        private final Path file;
        private FileChannel channel;
        private boolean refused;

        SharedLocks(final Path root)
        {
            this.file = root.resolve(LOCK_FILE);
            for (int i = 0; i < LOCK_STRIPES; i++)
            {
                stripes[i] = new ReentrantLock();
            }
        }

        /** Locks the stripe's byte of the lock file (the caller holds the stripe's lock); null where that fails. */
        java.nio.channels.FileLock lock(final int stripe)
        {
            for (int attempt = 0; attempt < 2; attempt++)
            {
                final FileChannel open = channel();
                if (open == null)
                {
                    return null;
                }
                try
                {
                    return open.lock(stripe, 1, false);
                }
                catch (final java.nio.channels.ClosedByInterruptException e)
                {
                    return null; // this thread is being stopped (the worker too): the stripe lock alone serves
                }
                catch (final java.nio.channels.ClosedChannelException e)
                {
                    // another locker was interrupted, which closed the shared channel: open it again
                }
                catch (final IOException e)
                {
                    refuse(e);
                    return null;
                }
            }
            return null;
        }

        private synchronized FileChannel channel()
        {
            if (refused)
            {
                return null;
            }
            if (channel == null || !channel.isOpen())
            {
                try
                {
                    channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                        StandardOpenOption.WRITE);
                }
                catch (final IOException e)
                {
                    refuse(e);
                    return null;
                }
            }
            return channel;
        }

        private synchronized void refuse(final IOException e)
        {
            if (!refused)
            {
                refused = true;
                LOG.warn("the L2 filesystem refuses file locks on {} ({}); writers of one key on several hosts may "
                    + "leave an older version of it in L2", file, e.toString());
            }
        }
    }

    /** A record open for reading; owns the channel, which keeps the inode it was opened on. */
    private static final class SfsRecord implements L2Record
    {
        private final String key;
        private final Path path;
        private final FileChannel channel;
        private final Header header;

        SfsRecord(final String key, final Path path, final FileChannel channel, final Header header)
        {
            this.key = key;
            this.path = path;
            this.channel = channel;
            this.header = header;
        }

        @Override
        public String key()
        {
            return key;
        }

        @Override
        public long version()
        {
            return header.version();
        }

        @Override
        public long expiresAtMs()
        {
            return header.expiresAtMs();
        }

        @Override
        public long size()
        {
            return header.valueLength();
        }

        /**
         * Reads the value straight from the file into {@code target} (no intermediate array) and checks its CRC32C.
         * When this throws, {@code target}'s first {@link #size()} bytes are unspecified.
         */
        @Override
        public void readInto(final MemorySegment target) throws IOException
        {
            Objects.requireNonNull(target, "target");
            final long size = header.valueLength();
            if (target.byteSize() < size)
            {
                throw new IllegalArgumentException("the target holds " + target.byteSize() + " bytes; the value of '"
                    + abbreviate(key) + "' is " + size);
            }
            final CRC32C crc = new CRC32C();
            for (long done = 0; done < size; )
            {
                final long length = Math.min(CHUNK, size - done);
                final ByteBuffer chunk = target.asSlice(done, length).asByteBuffer();
                if (!readFully(channel, chunk, header.valueOffset() + done))
                {
                    throw corrupt(path, key, "truncated: the value ends after " + (done + chunk.position())
                        + " of " + size + " bytes");
                }
                crc.update(chunk.flip());
                done += length;
            }
            final int computed = (int) crc.getValue();
            if (computed != header.valueCrc())
            {
                throw corrupt(path, key, "value checksum mismatch (stored CRC32C " + Integer.toHexString(
                    header.valueCrc()) + ", computed " + Integer.toHexString(computed) + ")");
            }
        }

        @Override
        public void close()
        {
            closeQuietly(channel);
        }
    }
}

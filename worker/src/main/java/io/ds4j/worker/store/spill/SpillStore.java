package io.ds4j.worker.store.spill;

import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;
import java.util.zip.CRC32C;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The worker's local spill tier (spec §2.2, §3.6): objects that must be kept but do not fit in the shared-memory
 * pool are written to files under {@code <spill_directory>/datasystem_spill_data/} and read back on access.
 * The on-disk format is specified in {@code docs/spill-layout.md} and {@link SpillRecord}.
 *
 * <h2>Files</h2>
 * Objects smaller than {@value #SMALL_OBJECT_LIMIT} bytes are appended to the current pack file
 * ({@code pack-<n>.dat}), which rolls over to a new one at {@code spill_file_max_size_mb}; larger objects get a file
 * of their own ({@code obj-<n>.dat}, value page aligned). So a million small objects cost a few files, not a million
 * inodes, and a large object is read with a few large positional reads. Each record carries a header with the key,
 * version, length and CRC32C of its value; reads check the CRC.
 *
 * <h2>Not durable: leftovers are deleted at open</h2>
 * Spill is an extension of memory, not storage. The only index of what a spill file holds is the worker's
 * in-memory metadata (the {@link SpillHandle}s and, above them, the object table and the master's location
 * records), and it dies with the worker. A restarted worker has no metadata saying those objects exist, which of
 * them were deleted or overwritten since they were spilled, or which versions are current: reading them back would
 * resurrect stale or deleted values. What must survive a crash is in L2 (WRITE_THROUGH / WRITE_BACK), which is the
 * durable tier. So {@link #open} deletes every file a previous worker left in the data directory (after taking the
 * directory lock, so it never deletes a live worker's files), nothing is fsynced, and {@link #close} removes the
 * files again. The record headers exist for debugging, not for recovery.
 *
 * <h2>One worker per directory</h2>
 * {@link #open} takes an exclusive {@link FileChannel#lock} on {@code datasystem_spill_data/LOCK} and fails with an
 * {@link IOException} naming the directory if another worker (another process, or another store in this JVM)
 * holds it. The lock is released by {@link #close} or by the process dying. The empty {@code LOCK} file itself is
 * left in place: deleting it while locked would let a later worker lock a fresh inode while a third one still
 * holds the old one.
 *
 * <h2>Watermarks</h2>
 * {@link #write} returns null (the caller keeps the object in memory, or drops it if it may) when the store is
 * nearly full: once {@link #usedBytes()} rises above {@code spill_high_watermark_ratio × limit} the store stays
 * nearly full until usage falls below {@code spill_low_watermark_ratio × limit} again, so writes do not flap at one
 * threshold. It also returns null for a record that would not fit under the limit at all.
 *
 * <h2>Deletion and compaction</h2>
 * {@link #delete} frees a record. An own file, or a pack file whose records are all deleted, is removed at once
 * (the active pack file is truncated to empty and reused instead). Deleted records in pack files are garbage
 * that still counts in {@link #usedBytes()}; when a pack file other than the active one has less than half of its
 * bytes live while usage is above the low watermark, compaction copies its live records into the active pack file,
 * moves their handles there and deletes it. Compaction runs on a background thread (triggered by deletes, pack
 * file rollovers and writes refused for lack of space) unless disabled at open; {@link #compact()} runs it on the
 * caller's thread.
 *
 * <h2>Reads</h2>
 * {@link #readInto} reads straight into the caller's segment with 1 MiB positional reads and checks the CRC32C of
 * each chunk right after reading it, while it is still in the CPU cache (a separate checksum pass over a large value
 * would read it back from DRAM). The checksum stays on the reading thread: sharing it with a helper thread was
 * measured (docs/spill-layout.md) and was faster only while a core was idle, and slower on a loaded machine.
 *
 * <h2>Thread safety</h2>
 * Every method may be called from any thread. Metadata (handles, files, accounting) is guarded by one lock that is
 * held only for bookkeeping, never across I/O: a write reserves its region under the lock, writes outside it and
 * publishes the handle under it; a read pins the file its handle points to, reads outside the lock and unpins.
 * Compaction copies records outside the lock and moves each handle under it; a file that compaction (or a delete)
 * retires is deleted only when its last pin is released, so a read that started before the move finishes on the
 * old file. A channel closed by another thread's interrupt is reopened transparently.
 */
public final class SpillStore implements AutoCloseable
{
    /** The directory under {@code spill_directory} that holds the data (spec §2.2). */
    public static final String DATA_DIR_NAME = "datasystem_spill_data";

    /** The lock file inside the data directory. */
    public static final String LOCK_FILE_NAME = "LOCK";

    /** Objects of at least this many bytes get their own file; smaller ones go to pack files. */
    public static final long SMALL_OBJECT_LIMIT = 1L << 20;

    /** Default cap on open file channels ({@code spill_file_open_limit}). */
    public static final int DEFAULT_OPEN_FILE_LIMIT = 512;

    /** Fraction of the filesystem's usable space used as the limit when the limit is 0. */
    public static final double DEFAULT_LIMIT_FRACTION = 0.95;

    /** Bytes per read or write call: large enough to amortize the syscall, small enough to CRC while cached. */
    static final int IO_CHUNK = 1 << 20;

    private static final Logger LOG = LoggerFactory.getLogger(SpillStore.class);
    private static final int MAX_REOPEN_RETRIES = 8;
    private static final long COMPACTION_BATCH_BYTES = 8L << 20;

    private final Path dataDir;
    private final FileChannel lockChannel;
    private final FileLock dirLock;
    private final long limitBytes;
    private final long highBytes;
    private final long lowBytes;
    private final long packMaxBytes;
    private final int openFileLimit;
    private final boolean autoCompact;

    private final ReentrantLock lock = new ReentrantLock();
    private final ReentrantLock compactionLock = new ReentrantLock();
    private final AtomicBoolean compactionScheduled = new AtomicBoolean();
    private final ExecutorService compactor;

    /** Every file not yet deleted, retired ones still pinned included. */
    private final Set<SpillFile> files = new HashSet<>();
    /** Pack files not retired. */
    private final Set<SpillFile> packs = new HashSet<>();
    /** Files with an open channel, least recently used first. */
    private final LinkedHashMap<SpillFile, SpillFile> openChannels = new LinkedHashMap<>(16, 0.75f, true);

    private SpillFile activePack;
    private long nextFileId;
    private long usedBytes;
    private long liveBytes;
    private int objectCount;
    private boolean nearlyFull;
    private long spillsTotal;
    private long readsTotal;
    private long compactionsTotal;
    private boolean closed;

    private SpillStore(final Path dataDir, final FileChannel lockChannel, final FileLock dirLock,
                       final long limitBytes, final int fileMaxSizeMb, final double highWatermark,
                       final double lowWatermark, final int openFileLimit, final boolean autoCompact)
    {
        this.dataDir = dataDir;
        this.lockChannel = lockChannel;
        this.dirLock = dirLock;
        this.limitBytes = limitBytes;
        this.highBytes = (long) (highWatermark * limitBytes);
        this.lowBytes = (long) (lowWatermark * limitBytes);
        this.packMaxBytes = (long) fileMaxSizeMb << 20;
        this.openFileLimit = openFileLimit;
        this.autoCompact = autoCompact;
        this.compactor = autoCompact
            ? Executors.newSingleThreadExecutor(Thread.ofPlatform().daemon().name("spill-compactor").factory())
            : null;
    }

    /**
     * Opens the spill store with background compaction and {@value #DEFAULT_OPEN_FILE_LIMIT} open files at most.
     *
     * @see #open(Path, long, int, double, double, int, boolean)
     */
    public static SpillStore open(final Path spillDirectory, final long limitBytes, final int fileMaxSizeMb,
                                  final double highWatermark, final double lowWatermark) throws IOException
    {
        return open(spillDirectory, limitBytes, fileMaxSizeMb, highWatermark, lowWatermark, DEFAULT_OPEN_FILE_LIMIT,
            true);
    }

    /**
     * Opens the spill store under {@code spillDirectory/datasystem_spill_data}, creating the directories, locking
     * the directory and deleting whatever a previous worker left there.
     *
     * @param spillDirectory {@code spill_directory}
     * @param limitBytes {@code spill_size_limit}: most bytes of files; 0 for {@value #DEFAULT_LIMIT_FRACTION} of the
     *     filesystem's usable space (measured now, after deleting leftovers)
     * @param fileMaxSizeMb {@code spill_file_max_size_mb}: size at which a pack file rolls over, at least 1
     * @param highWatermark {@code spill_high_watermark_ratio}, in (0, 1]
     * @param lowWatermark {@code spill_low_watermark_ratio}, in (0, highWatermark]
     * @param openFileLimit {@code spill_file_open_limit}: channels kept open at most (exceeded only while more
     *     files than that are in use at once), at least 1
     * @param autoCompact whether deletes and refused writes start compaction on a background thread
     * @throws IOException when the directory cannot be created or another worker holds its lock
     */
    public static SpillStore open(final Path spillDirectory, final long limitBytes, final int fileMaxSizeMb,
                                  final double highWatermark, final double lowWatermark, final int openFileLimit,
                                  final boolean autoCompact) throws IOException
    {
        Objects.requireNonNull(spillDirectory, "spillDirectory");
        if (limitBytes < 0)
        {
            throw new IllegalArgumentException("spill size limit must be >= 0: " + limitBytes);
        }
        if (fileMaxSizeMb < 1)
        {
            throw new IllegalArgumentException("spill file max size must be >= 1 MB: " + fileMaxSizeMb);
        }
        if (!(highWatermark > 0 && highWatermark <= 1 && lowWatermark > 0 && lowWatermark <= highWatermark))
        {
            throw new IllegalArgumentException("spill watermarks must satisfy 0 < low <= high <= 1: low="
                + lowWatermark + ", high=" + highWatermark);
        }
        if (openFileLimit < 1)
        {
            throw new IllegalArgumentException("spill open file limit must be >= 1: " + openFileLimit);
        }
        final Path dataDir = spillDirectory.resolve(DATA_DIR_NAME).toAbsolutePath();
        Files.createDirectories(dataDir);
        final Path lockPath = dataDir.resolve(LOCK_FILE_NAME);
        final FileChannel lockChannel = FileChannel.open(lockPath, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock dirLock = null;
        try
        {
            try
            {
                dirLock = lockChannel.tryLock();
            }
            catch (final OverlappingFileLockException e)
            {
                dirLock = null;
            }
            if (dirLock == null)
            {
                throw new IOException("spill directory " + dataDir + " is in use by another worker (" + lockPath
                    + " is locked); each worker needs its own spill_directory");
            }
            deleteContents(dataDir, true);
            long limit = limitBytes;
            if (limit == 0)
            {
                limit = (long) (Files.getFileStore(dataDir).getUsableSpace() * DEFAULT_LIMIT_FRACTION);
                if (limit <= 0)
                {
                    throw new IOException("spill directory " + dataDir + " has no usable space");
                }
            }
            final SpillStore store = new SpillStore(dataDir, lockChannel, dirLock, limit, fileMaxSizeMb,
                highWatermark, lowWatermark, openFileLimit, autoCompact);
            LOG.info("spill store at {}: limit {} bytes, pack files up to {} MB, watermarks {}/{}", dataDir, limit,
                fileMaxSizeMb, highWatermark, lowWatermark);
            return store;
        }
        catch (final IOException | RuntimeException e)
        {
            if (dirLock != null)
            {
                try
                {
                    dirLock.release();
                }
                catch (final IOException suppressed)
                {
                    e.addSuppressed(suppressed);
                }
            }
            try
            {
                lockChannel.close();
            }
            catch (final IOException suppressed)
            {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    /**
     * Deletes everything in the data directory but the lock file; returns how many entries it deleted.
     *
     * @param leftovers whether these are a previous worker's files (logged) rather than this store's own
     */
    private static int deleteContents(final Path dataDir, final boolean leftovers) throws IOException
    {
        int count = 0;
        long bytes = 0;
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dataDir))
        {
            for (final Path entry : entries)
            {
                if (entry.getFileName().toString().equals(LOCK_FILE_NAME))
                {
                    continue;
                }
                if (Files.isDirectory(entry, LinkOption.NOFOLLOW_LINKS))
                {
                    try (var tree = Files.walk(entry))
                    {
                        final List<Path> paths = tree.sorted(Comparator.reverseOrder()).toList();
                        for (final Path path : paths)
                        {
                            Files.deleteIfExists(path);
                        }
                    }
                }
                else
                {
                    bytes += Files.size(entry);
                    Files.deleteIfExists(entry);
                }
                count++;
            }
        }
        if (count > 0 && leftovers)
        {
            LOG.info("deleted {} spill entries ({} bytes) left in {} by a previous worker", count, bytes, dataDir);
        }
        return count;
    }

    /**
     * Spills {@code data} as {@code key}'s {@code version}. The value is written straight from the segment; nothing
     * is fsynced. On an I/O error (ENOSPC included) nothing of the record stays referenced and the accounting is
     * restored.
     *
     * @return the handle to read or delete the record with, or null when the store is nearly full (see the class
     *     comment) or the record would not fit under the limit
     * @throws IOException when the write fails or the store is closed
     */
    public SpillHandle write(final String key, final long version, final MemorySegment data) throws IOException
    {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(data, "data");
        final byte[] keyBytes = key.getBytes(StandardCharsets.UTF_8);
        if (keyBytes.length > SpillRecord.MAX_KEY_BYTES)
        {
            throw new IllegalArgumentException("spill key longer than " + SpillRecord.MAX_KEY_BYTES + " bytes");
        }
        final long size = data.byteSize();
        final boolean ownFile = size >= SMALL_OBJECT_LIMIT;
        final int dataOffset = SpillRecord.dataOffset(keyBytes.length, ownFile);
        final long recordLength = dataOffset + size;
        final Region region;
        lock.lock();
        try
        {
            ensureOpen();
            if (nearlyFull || usedBytes + recordLength > limitBytes)
            {
                if (hasCompactionCandidate())
                {
                    scheduleCompaction();
                }
                return null;
            }
            region = ownFile ? reserveOwnFile(recordLength) : reservePack(recordLength, true);
        }
        finally
        {
            lock.unlock();
        }
        boolean done = false;
        try
        {
            final int crc = transfer(region.file, region.channel, region.offset + dataOffset, data, false);
            final ByteBuffer head = SpillRecord.encodeHead(keyBytes, version, size, crc, ownFile);
            transfer(region.file, region.channel, region.offset, MemorySegment.ofBuffer(head), false);
            final SpillHandle handle = new SpillHandle(key, version, size, dataOffset, crc, region.file,
                region.offset);
            final SpillFile doomed;
            lock.lock();
            try
            {
                ensureOpen();
                region.file.handles.add(handle);
                region.file.live += recordLength;
                liveBytes += recordLength;
                objectCount++;
                spillsTotal++;
                region.file.pending--;
                doomed = unpin(region.file);
                done = true;
            }
            finally
            {
                lock.unlock();
            }
            destroy(doomed);
            return handle;
        }
        finally
        {
            if (!done)
            {
                abort(region);
            }
        }
    }

    /**
     * Reads the value of {@code handle} into the start of {@code target} ({@link SpillHandle#size()} bytes) with
     * large positional reads straight into the segment, and checks its CRC32C.
     *
     * @param target a writable native segment or heap segment over a {@code byte[]}, at least as long as the value
     * @throws IOException when the read fails, the record is corrupt ("corrupt spill record ..."), the handle was
     *     deleted or the store is closed
     */
    public void readInto(final SpillHandle handle, final MemorySegment target) throws IOException
    {
        Objects.requireNonNull(handle, "handle");
        Objects.requireNonNull(target, "target");
        if (target.byteSize() < handle.size())
        {
            throw new IllegalArgumentException("target of " + target.byteSize() + " bytes is shorter than the "
                + handle.size() + "-byte spilled value of " + handle.key());
        }
        if (target.isReadOnly())
        {
            throw new IllegalArgumentException("target segment is read-only");
        }
        final SpillFile file;
        final long position;
        final FileChannel channel;
        lock.lock();
        try
        {
            ensureOpen();
            if (handle.isDeleted())
            {
                throw new IOException("spill record of " + handle.key() + " v" + handle.version()
                    + " was deleted");
            }
            file = handle.file;
            position = handle.recordOffset + handle.dataOffset();
            channel = pinAndOpen(file);
        }
        finally
        {
            lock.unlock();
        }
        boolean ok = false;
        try
        {
            final int crc = transfer(file, channel, position, target.asSlice(0, handle.size()), true);
            if (crc != handle.dataCrc())
            {
                throw new IOException("corrupt spill record " + handle.key() + " v" + handle.version() + " in "
                    + file.path + " at offset " + position + ": CRC32C " + Integer.toHexString(crc)
                    + ", expected " + Integer.toHexString(handle.dataCrc()));
            }
            ok = true;
        }
        finally
        {
            final SpillFile doomed;
            lock.lock();
            try
            {
                if (ok)
                {
                    readsTotal++;
                }
                doomed = unpin(file);
            }
            finally
            {
                lock.unlock();
            }
            destroy(doomed);
        }
    }

    /**
     * Frees the record of {@code handle}; a second call, or a call after {@link #close()}, does nothing. A read of
     * the handle already under way completes.
     */
    public void delete(final SpillHandle handle)
    {
        Objects.requireNonNull(handle, "handle");
        SpillFile doomed = null;
        lock.lock();
        try
        {
            if (closed || handle.isDeleted())
            {
                return;
            }
            handle.markDeleted();
            final SpillFile file = handle.file;
            file.handles.remove(handle);
            file.live -= handle.recordLength();
            liveBytes -= handle.recordLength();
            objectCount--;
            doomed = settle(file);
            if (doomed == null && isCompactionCandidate(file) && usedBytes > lowBytes)
            {
                scheduleCompaction();
            }
        }
        finally
        {
            lock.unlock();
        }
        destroy(doomed);
    }

    /**
     * Compacts on the caller's thread: while usage is above the low watermark, rewrites the live records of each
     * pack file (other than the active one) that is less than half live into the active pack file and deletes it.
     * Handles stay valid throughout; concurrent reads, writes and deletes are allowed.
     *
     * @return how many files were compacted
     */
    public int compact() throws IOException
    {
        compactionLock.lock();
        try
        {
            int count = 0;
            while (compactOne())
            {
                count++;
            }
            return count;
        }
        finally
        {
            compactionLock.unlock();
        }
    }

    /** Bytes of spill files on disk (live records, deleted records not yet compacted, headers). */
    public long usedBytes()
    {
        lock.lock();
        try
        {
            return usedBytes;
        }
        finally
        {
            lock.unlock();
        }
    }

    /** Bytes of live records (header, key, padding and value each). */
    public long liveBytes()
    {
        lock.lock();
        try
        {
            return liveBytes;
        }
        finally
        {
            lock.unlock();
        }
    }

    /** The limit on {@link #usedBytes()}. */
    public long limitBytes()
    {
        return limitBytes;
    }

    /** Live records. */
    public int objectCount()
    {
        lock.lock();
        try
        {
            return objectCount;
        }
        finally
        {
            lock.unlock();
        }
    }

    /** Spill files on disk (pack and own files). */
    public int fileCount()
    {
        lock.lock();
        try
        {
            return files.size();
        }
        finally
        {
            lock.unlock();
        }
    }

    /** Whether {@link #write} refuses new records now (see the class comment). */
    public boolean nearlyFull()
    {
        lock.lock();
        try
        {
            return nearlyFull;
        }
        finally
        {
            lock.unlock();
        }
    }

    /** Successful writes since open. */
    public long spillsTotal()
    {
        lock.lock();
        try
        {
            return spillsTotal;
        }
        finally
        {
            lock.unlock();
        }
    }

    /** Successful reads since open. */
    public long readsTotal()
    {
        lock.lock();
        try
        {
            return readsTotal;
        }
        finally
        {
            lock.unlock();
        }
    }

    /** Pack files compacted since open. */
    public long compactionsTotal()
    {
        lock.lock();
        try
        {
            return compactionsTotal;
        }
        finally
        {
            lock.unlock();
        }
    }

    /** The data directory, {@code <spill_directory>/datasystem_spill_data}. */
    public Path dataDirectory()
    {
        return dataDir;
    }

    /**
     * Closes every file, deletes all spill files (spill does not outlive the worker) and releases the directory
     * lock. Handles become deleted; reads under way fail with an {@link IOException}. Idempotent.
     */
    @Override
    public void close()
    {
        final List<SpillFile> all;
        lock.lock();
        try
        {
            if (closed)
            {
                return;
            }
            closed = true;
            all = new ArrayList<>(files);
            for (final SpillFile file : all)
            {
                for (final SpillHandle handle : file.handles)
                {
                    handle.markDeleted();
                }
                file.handles.clear();
                file.retired = true;
            }
            files.clear();
            packs.clear();
            openChannels.clear();
            activePack = null;
            usedBytes = 0;
            liveBytes = 0;
            objectCount = 0;
        }
        finally
        {
            lock.unlock();
        }
        if (compactor != null)
        {
            compactor.shutdownNow();
            try
            {
                if (!compactor.awaitTermination(10, TimeUnit.SECONDS))
                {
                    LOG.warn("spill compactor did not stop within 10 s");
                }
            }
            catch (final InterruptedException e)
            {
                Thread.currentThread().interrupt();
            }
        }
        for (final SpillFile file : all)
        {
            closeQuietly(file.channel);
        }
        try
        {
            deleteContents(dataDir, false);
        }
        catch (final IOException e)
        {
            LOG.warn("could not delete spill files in {}", dataDir, e);
        }
        try
        {
            dirLock.release();
        }
        catch (final IOException e)
        {
            LOG.warn("could not release {}", dataDir.resolve(LOCK_FILE_NAME), e);
        }
        closeQuietly(lockChannel);
    }

    /**
     * For tests: checks that the accounting matches the files and handles, with no write, read or compaction under
     * way.
     *
     * @throws IllegalStateException describing the first mismatch
     */
    void checkInvariants() throws IOException
    {
        lock.lock();
        try
        {
            long used = 0;
            long live = 0;
            int objects = 0;
            for (final SpillFile file : files)
            {
                long fileLive = 0;
                for (final SpillHandle handle : file.handles)
                {
                    check(handle.file == file && !handle.isDeleted(), "handle " + handle + " misfiled in " + file);
                    check(handle.recordOffset + handle.recordLength() <= file.end, "handle " + handle + " past end");
                    fileLive += handle.recordLength();
                }
                check(fileLive == file.live, "live bytes of " + file + " should be " + fileLive);
                check(file.pending == 0 && file.pins == 0 && !file.retired, "busy or retired: " + file);
                check(file.records() > 0 || file == activePack, "empty file kept: " + file);
                check(Files.size(file.path) == file.end, file + " is " + Files.size(file.path) + " bytes on disk");
                check(file.pack == packs.contains(file), "pack set disagrees on " + file);
                used += file.end;
                live += file.live;
                objects += file.records();
            }
            check(used == usedBytes, "used " + usedBytes + ", files sum to " + used);
            check(live == liveBytes, "live " + liveBytes + ", files sum to " + live);
            check(objects == objectCount, "objects " + objectCount + ", files hold " + objects);
            try (DirectoryStream<Path> entries = Files.newDirectoryStream(dataDir))
            {
                int onDisk = 0;
                for (final Path ignored : entries)
                {
                    onDisk++;
                }
                check(onDisk == files.size() + 1, onDisk + " entries on disk for " + files.size() + " files");
            }
        }
        finally
        {
            lock.unlock();
        }
    }

    private static void check(final boolean condition, final String message)
    {
        if (!condition)
        {
            throw new IllegalStateException(message);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Reservation, pinning and retirement; all called with the lock held unless stated.

    /** A reserved region of a file, pinned, with its channel. */
    private record Region(SpillFile file, FileChannel channel, long offset, long length)
    {
    }

    private void ensureOpen() throws IOException
    {
        if (closed)
        {
            throw new IOException("spill store " + dataDir + " is closed");
        }
    }

    private Region reserveOwnFile(final long recordLength) throws IOException
    {
        final SpillFile file = createFile(false);
        file.end = recordLength;
        addUsed(recordLength);
        file.pending++;
        file.pins++;
        return new Region(file, file.channel, 0, recordLength);
    }

    /**
     * Reserves {@code recordLength} bytes at the end of the active pack file, rolling to a new one if needed.
     *
     * @param forWrite true for a new record, false for a compaction copy, whose temporary growth must not make the
     *     store nearly full (the file it empties is deleted right after)
     */
    private Region reservePack(final long recordLength, final boolean forWrite) throws IOException
    {
        SpillFile file = activePack;
        if (file == null || file.end > 0 && SpillRecord.align(file.end, SpillRecord.PACK_ALIGNMENT) + recordLength
            > packMaxBytes)
        {
            final SpillFile previous = file;
            file = createFile(true);
            activePack = file;
            if (previous != null)
            {
                final SpillFile doomed = settle(previous);
                if (doomed != null)
                {
                    // Unpinned and unreachable (settle only returns such files): close and delete it right here.
                    destroy(doomed);
                }
            }
            if (usedBytes > lowBytes && hasCompactionCandidate())
            {
                scheduleCompaction();
            }
        }
        final FileChannel channel = pinAndOpen(file);
        final long offset = SpillRecord.align(file.end, SpillRecord.PACK_ALIGNMENT);
        final long newEnd = offset + recordLength;
        if (forWrite)
        {
            addUsed(newEnd - file.end);
        }
        else
        {
            usedBytes += newEnd - file.end;
        }
        file.end = newEnd;
        file.pending++;
        return new Region(file, channel, offset, recordLength);
    }

    private SpillFile createFile(final boolean pack) throws IOException
    {
        final long id = nextFileId++;
        final Path path = dataDir.resolve((pack ? "pack-" : "obj-") + id + ".dat");
        final SpillFile file = new SpillFile(id, path, pack);
        file.channel = FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
            StandardOpenOption.WRITE);
        files.add(file);
        if (pack)
        {
            packs.add(file);
        }
        openChannels.put(file, file);
        trimOpenChannels(file);
        return file;
    }

    /** Pins {@code file} and returns an open channel for it, (re)opening one if needed. */
    private FileChannel pinAndOpen(final SpillFile file) throws IOException
    {
        file.pins++;
        try
        {
            return channelOf(file);
        }
        catch (final IOException | RuntimeException e)
        {
            file.pins--;
            throw e;
        }
    }

    private FileChannel channelOf(final SpillFile file) throws IOException
    {
        if (file.channel != null && file.channel.isOpen())
        {
            openChannels.get(file);
            return file.channel;
        }
        file.channel = FileChannel.open(file.path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        openChannels.put(file, file);
        trimOpenChannels(file);
        return file.channel;
    }

    /** Closes the least recently used channels of unpinned files while more than the limit are open. */
    private void trimOpenChannels(final SpillFile keep)
    {
        final Iterator<SpillFile> it = openChannels.keySet().iterator();
        while (openChannels.size() > openFileLimit && it.hasNext())
        {
            final SpillFile file = it.next();
            if (file != keep && file.pins == 0)
            {
                it.remove();
                closeQuietly(file.channel);
                file.channel = null;
            }
        }
    }

    /** Releases a pin; returns the file if it is now retired and unpinned, for the caller to destroy. */
    private SpillFile unpin(final SpillFile file)
    {
        file.pins--;
        if (file.retired && file.pins == 0 && !closed)
        {
            return forget(file);
        }
        return null;
    }

    /**
     * Called when a file may have lost its last record: retires a non-active file with no records and no pending
     * writes (returning it if unpinned, for the caller to destroy), or truncates the active pack file to empty.
     */
    private SpillFile settle(final SpillFile file)
    {
        if (file.retired || file.records() > 0 || file.pending > 0)
        {
            return null;
        }
        if (file == activePack)
        {
            if (file.pins == 0 && file.end > 0)
            {
                try
                {
                    channelOf(file).truncate(0);
                    addUsed(-file.end);
                    file.end = 0;
                    file.live = 0;
                }
                catch (final IOException e)
                {
                    LOG.warn("could not truncate empty spill file {}", file.path, e);
                }
            }
            return null;
        }
        file.retired = true;
        packs.remove(file);
        return file.pins == 0 ? forget(file) : null;
    }

    /** Drops a retired, unpinned file from the books; the caller destroys it after unlocking. */
    private SpillFile forget(final SpillFile file)
    {
        files.remove(file);
        openChannels.remove(file);
        addUsed(-file.end);
        return file;
    }

    /** Closes and deletes a forgotten file; called without the lock (or for a file nobody can reach). */
    private void destroy(final SpillFile file)
    {
        if (file == null)
        {
            return;
        }
        closeQuietly(file.channel);
        try
        {
            Files.deleteIfExists(file.path);
        }
        catch (final IOException e)
        {
            LOG.warn("could not delete spill file {}", file.path, e);
        }
    }

    /** Undoes the reservation of a write or compaction copy that failed. Takes the lock. */
    private void abort(final Region region)
    {
        SpillFile doomed = null;
        lock.lock();
        try
        {
            if (closed)
            {
                return;
            }
            final SpillFile file = region.file;
            file.pending--;
            if (!file.pack)
            {
                file.retired = true;
            }
            else if (file.end == region.offset + region.length)
            {
                // Nothing was reserved behind us: give the space back.
                file.end = region.offset;
                addUsed(-region.length);
                try
                {
                    region.channel.truncate(region.offset);
                }
                catch (final IOException e)
                {
                    LOG.debug("could not truncate {} after a failed write", file.path, e);
                }
            }
            doomed = unpin(file);
            if (doomed == null)
            {
                doomed = settle(file);
            }
        }
        finally
        {
            lock.unlock();
        }
        destroy(doomed);
    }

    private void addUsed(final long delta)
    {
        usedBytes += delta;
        if (usedBytes > highBytes)
        {
            nearlyFull = true;
        }
        else if (usedBytes < lowBytes)
        {
            nearlyFull = false;
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Compaction

    private boolean isCompactionCandidate(final SpillFile file)
    {
        return file.pack && file != activePack && !file.retired && !file.compacting && file.pending == 0
            && file.records() > 0 && file.live * 2 < file.end;
    }

    private boolean hasCompactionCandidate()
    {
        for (final SpillFile file : packs)
        {
            if (isCompactionCandidate(file))
            {
                return true;
            }
        }
        return false;
    }

    private void scheduleCompaction()
    {
        if (!autoCompact || closed || !compactionScheduled.compareAndSet(false, true))
        {
            return;
        }
        try
        {
            compactor.execute(() ->
            {
                compactionScheduled.set(false);
                try
                {
                    compact();
                }
                catch (final IOException | RuntimeException e)
                {
                    if (!closed)
                    {
                        LOG.warn("spill compaction failed", e);
                    }
                }
            });
        }
        catch (final RejectedExecutionException e)
        {
            compactionScheduled.set(false);
        }
    }

    /** Compacts the pack file with the lowest live ratio, if any qualifies; returns whether it did. */
    private boolean compactOne() throws IOException
    {
        final SpillFile victim;
        final List<SpillHandle> moving;
        final FileChannel source;
        lock.lock();
        try
        {
            if (closed || usedBytes <= lowBytes)
            {
                return false;
            }
            SpillFile best = null;
            for (final SpillFile file : packs)
            {
                if (isCompactionCandidate(file)
                    && (best == null || (double) file.live / file.end < (double) best.live / best.end))
                {
                    best = file;
                }
            }
            if (best == null)
            {
                return false;
            }
            final long need = best.live + (long) SpillRecord.PACK_ALIGNMENT * best.records();
            if (usedBytes + need > limitBytes)
            {
                return false;
            }
            victim = best;
            source = pinAndOpen(victim);
            victim.compacting = true;
            moving = new ArrayList<>(victim.handles);
            moving.sort(Comparator.comparingLong(h -> h.recordOffset));
        }
        finally
        {
            lock.unlock();
        }
        boolean ok = false;
        try
        {
            int from = 0;
            while (from < moving.size())
            {
                long batchBytes = 0;
                int to = from;
                while (to < moving.size() && (to == from || batchBytes < COMPACTION_BATCH_BYTES))
                {
                    batchBytes += moving.get(to).recordLength();
                    to++;
                }
                moveBatch(victim, source, moving.subList(from, to));
                from = to;
            }
            ok = true;
        }
        finally
        {
            SpillFile doomed;
            lock.lock();
            try
            {
                victim.compacting = false;
                if (ok && !closed)
                {
                    compactionsTotal++;
                }
                doomed = closed ? null : unpin(victim);
                if (doomed == null && !closed)
                {
                    doomed = settle(victim);
                }
            }
            finally
            {
                lock.unlock();
            }
            destroy(doomed);
        }
        return true;
    }

    /** Copies the records of {@code batch} from {@code victim} to the active pack file and moves their handles. */
    private void moveBatch(final SpillFile victim, final FileChannel source, final List<SpillHandle> batch)
        throws IOException
    {
        final List<Region> regions = new ArrayList<>(batch.size());
        final long[] sourceOffsets = new long[batch.size()];
        lock.lock();
        try
        {
            ensureOpen();
            for (int i = 0; i < batch.size(); i++)
            {
                final SpillHandle handle = batch.get(i);
                sourceOffsets[i] = handle.recordOffset;
                regions.add(reservePack(handle.recordLength(), false));
            }
        }
        catch (final IOException | RuntimeException e)
        {
            lock.unlock();
            abortAll(regions);
            throw e;
        }
        lock.unlock();
        int copied = 0;
        try (Arena arena = Arena.ofConfined())
        {
            long longest = 0;
            for (final Region region : regions)
            {
                longest = Math.max(longest, region.length);
            }
            final MemorySegment buffer = arena.allocate(longest, SpillRecord.PACK_ALIGNMENT);
            for (int i = 0; i < batch.size(); i++)
            {
                final Region region = regions.get(i);
                final MemorySegment record = buffer.asSlice(0, region.length);
                transfer(victim, source, sourceOffsets[i], record, true);
                transfer(region.file, region.channel, region.offset, record, false);
                copied++;
            }
        }
        finally
        {
            if (copied < batch.size())
            {
                abortAll(regions);
            }
        }
        final List<SpillFile> doomed = new ArrayList<>();
        lock.lock();
        try
        {
            for (int i = 0; i < batch.size(); i++)
            {
                final SpillHandle handle = batch.get(i);
                final Region region = regions.get(i);
                final SpillFile dest = region.file;
                if (!closed && !handle.isDeleted() && handle.file == victim)
                {
                    victim.handles.remove(handle);
                    victim.live -= handle.recordLength();
                    handle.file = dest;
                    handle.recordOffset = region.offset;
                    dest.handles.add(handle);
                    dest.live += handle.recordLength();
                }
                if (!closed)
                {
                    dest.pending--;
                    final SpillFile unpinned = unpin(dest);
                    final SpillFile settled = unpinned == null ? settle(dest) : null;
                    if (unpinned != null)
                    {
                        doomed.add(unpinned);
                    }
                    if (settled != null)
                    {
                        doomed.add(settled);
                    }
                }
            }
        }
        finally
        {
            lock.unlock();
        }
        doomed.forEach(this::destroy);
    }

    /** Aborts regions last first, so that each is at its file's tail when aborted and gives its space back. */
    private void abortAll(final List<Region> regions)
    {
        for (int i = regions.size() - 1; i >= 0; i--)
        {
            abort(regions.get(i));
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // I/O, without the lock

    /**
     * Reads {@code segment.byteSize()} bytes at {@code position} into {@code segment} (or writes them there), in
     * chunks of {@link #IO_CHUNK}, and returns the CRC32C of the bytes, computed chunk by chunk while each is still
     * in the CPU cache. A channel closed under us by another thread's interrupt is reopened and the chunk retried.
     */
    private int transfer(final SpillFile file, final FileChannel initial, final long position,
                         final MemorySegment segment, final boolean read) throws IOException
    {
        final CRC32C crc = new CRC32C();
        final long size = segment.byteSize();
        FileChannel channel = initial;
        int reopens = 0;
        long done = 0;
        while (done < size)
        {
            final int n = (int) Math.min(IO_CHUNK, size - done);
            final MemorySegment chunk = segment.asSlice(done, n);
            try
            {
                if (read)
                {
                    readFully(channel, chunk.asByteBuffer(), position + done, file);
                }
                else
                {
                    writeFully(channel, chunk.asByteBuffer(), position + done);
                }
            }
            catch (final ClosedByInterruptException e)
            {
                throw e;
            }
            catch (final ClosedChannelException e)
            {
                if (Thread.currentThread().isInterrupted() || ++reopens > MAX_REOPEN_RETRIES)
                {
                    throw e;
                }
                channel = reopen(file);
                continue;
            }
            crc.update(chunk.asByteBuffer());
            done += n;
        }
        return (int) crc.getValue();
    }

    private FileChannel reopen(final SpillFile file) throws IOException
    {
        lock.lock();
        try
        {
            ensureOpen();
            return channelOf(file);
        }
        finally
        {
            lock.unlock();
        }
    }

    private static void readFully(final FileChannel channel, final ByteBuffer buffer, final long position,
                                  final SpillFile file) throws IOException
    {
        long at = position;
        while (buffer.hasRemaining())
        {
            final int n = channel.read(buffer, at);
            if (n < 0)
            {
                throw new EOFException("corrupt spill record: " + file.path + " ends at " + at
                    + " inside a record");
            }
            at += n;
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

    private static void closeQuietly(final AutoCloseable closeable)
    {
        if (closeable == null)
        {
            return;
        }
        try
        {
            closeable.close();
        }
        catch (final Exception e)
        {
            LOG.debug("close failed", e);
        }
    }
}

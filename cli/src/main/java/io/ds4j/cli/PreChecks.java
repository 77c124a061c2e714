package io.ds4j.cli;

import io.ds4j.worker.config.HostPort;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Checks {@code dscli start} makes before spawning a worker, so the common failures get a message that says what to
 * do instead of a worker that dies in the background.
 */
public final class PreChecks
{
    /** Where the worker's shared-memory pool lives. */
    public static final Path DEV_SHM = Path.of("/dev/shm");

    private static final long MIB = 1L << 20;

    private PreChecks()
    {
    }

    /** Fails when a worker started for {@code address} is still running. */
    public static void checkNotRunning(final String address)
    {
        final Optional<ProcessHandle> running = WorkerLauncher.findWorker(address);
        if (running.isPresent())
        {
            throw new CliException(CliException.FAILURE, "a worker is already running @ " + address + " (PID "
                + running.get().pid() + "); stop it first with: dscli stop -w " + address);
        }
    }

    /** Fails when {@code address} cannot be bound (another process listens there, or the host is not local). */
    public static void checkPortFree(final HostPort address)
    {
        try (ServerSocket socket = new ServerSocket())
        {
            // the worker binds with SO_REUSEADDR too, so TIME_WAIT leftovers of a previous worker do not count
            socket.setReuseAddress(true);
            socket.bind(new InetSocketAddress(address.host(), address.port()));
        }
        catch (final IOException e)
        {
            final InetSocketAddress resolved = new InetSocketAddress(address.host(), address.port());
            if (resolved.isUnresolved())
            {
                throw new CliException(CliException.FAILURE, "cannot start a worker @ " + address + ": host '"
                    + address.host() + "' does not resolve; use an IP address of this machine in --worker_address");
            }
            throw new CliException(CliException.FAILURE, "cannot start a worker @ " + address + ": port "
                + address.port() + " cannot be bound (" + e.getMessage() + "); another process uses it or the host is"
                + " not an address of this machine. Pick another port with --worker_address HOST:PORT, or find the"
                + " user of the port with: ss -ltnp 'sport = :" + address.port() + "'");
        }
    }

    /** Fails when {@code shmDir} (normally /dev/shm) has less usable space than the pool needs. */
    public static void checkShmSpace(final Path shmDir, final long poolBytes)
    {
        if (!Files.isDirectory(shmDir))
        {
            // no /dev/shm here: the worker reports what it needs itself
            return;
        }
        final long usable;
        try
        {
            final FileStore store = Files.getFileStore(shmDir);
            usable = store.getUsableSpace();
        }
        catch (final IOException e)
        {
            return;
        }
        if (usable < poolBytes)
        {
            throw new CliException(CliException.FAILURE, shmDir + " has only " + usable / MIB + " MiB free, but"
                + " --shared_memory_size_mb=" + poolBytes / MIB + " needs " + poolBytes / MIB + " MiB. Lower"
                + " --shared_memory_size_mb, free space in " + shmDir + ", or enlarge it (mount -o remount,size=NG "
                + shmDir + ", or docker run --shm-size=NG)");
        }
    }
}

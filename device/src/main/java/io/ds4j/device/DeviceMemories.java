package io.ds4j.device;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Picks the {@link DeviceMemory} of this process: CUDA when the runtime library loads and sees a device, host memory
 * otherwise, and says which and why in one log line. The system property {@code ds4j.device} (or the environment
 * variable {@code DS4J_DEVICE}) forces a choice: {@code cuda} (fail when CUDA cannot be used), {@code host}, or
 * {@code auto} (the default).
 */
public final class DeviceMemories
{
    private static final System.Logger LOG = System.getLogger(DeviceMemories.class.getName());

    /** What the probe found: the memory to use and, when it is the host one, why CUDA is not. */
    public record Choice(DeviceMemory memory, String reason)
    {
    }

    private DeviceMemories()
    {
    }

    /** One device memory per setting per process: device pointers are the process's, whichever client uses them. */
    private static final Map<String, DeviceMemory> SHARED = new ConcurrentHashMap<>();

    /**
     * This process's device memory for the current setting, chosen (and logged) on first use, then the same for every
     * client: a pointer from it is valid with any of them, as CUDA's are. Never close it.
     */
    public static DeviceMemory shared()
    {
        return SHARED.computeIfAbsent(setting().toLowerCase(Locale.ROOT), setting -> open(setting));
    }

    /** A new device memory for the current setting, chosen as the class comment says; the caller closes it. */
    public static DeviceMemory open()
    {
        return open(setting());
    }

    private static DeviceMemory open(final String setting)
    {
        final Choice choice = choose(setting);
        LOG.log(System.Logger.Level.INFO, "device memory: {0}{1}", choice.memory().description(),
            choice.reason().isEmpty() ? "" : " (" + choice.reason() + ")");
        return choice.memory();
    }

    /** The CUDA runtime if it can be used here, with the reason when not; nothing is logged. */
    public static Choice choose(final String setting)
    {
        return switch (setting.toLowerCase(Locale.ROOT))
        {
            case "host" -> new Choice(new HostDeviceMemory(), "ds4j.device=host");
            case "cuda" ->
            {
                final Choice cuda = probeCuda();
                if (!cuda.memory().isAccelerator())
                {
                    throw new DeviceException(io.ds4j.common.StatusCode.CUDA_ERROR, "ds4j.device=cuda, but "
                        + cuda.reason());
                }
                yield cuda;
            }
            case "auto", "" -> probeCuda();
            default -> throw new IllegalArgumentException("ds4j.device must be auto, cuda or host, not " + setting);
        };
    }

    /**
     * CUDA when it works here; otherwise host memory and the reason CUDA does not. Each runtime library found is
     * tried in turn ({@link CudaRuntime#LIBRARY_NAMES}): one newer than the driver sees no device, an older may.
     */
    public static Choice probeCuda()
    {
        final List<CudaRuntime> runtimes;
        try
        {
            runtimes = CudaRuntime.loadAll();
        }
        catch (final IllegalCallerException e)
        {
            return new Choice(new HostDeviceMemory(), "native access is not enabled; run java with"
                + " --enable-native-access=ALL-UNNAMED to use CUDA");
        }
        if (runtimes.isEmpty())
        {
            return new Choice(new HostDeviceMemory(), "no CUDA runtime library found (tried "
                + String.join(", ", CudaRuntime.LIBRARY_NAMES) + "; set LD_LIBRARY_PATH to the toolkit's lib64)");
        }
        final List<String> reasons = new ArrayList<>();
        for (final CudaRuntime cuda : runtimes)
        {
            final int count = cuda.deviceCountOrError();
            if (count > 0)
            {
                return new Choice(new CudaDeviceMemory(cuda, count), "");
            }
            reasons.add(count == 0 ? cuda.libraryName + " loaded, but it sees no CUDA device"
                : cuda.libraryName + " loaded, but cudaGetDeviceCount failed: " + cuda.errorName(-count) + " ("
                    + -count + "): " + cuda.errorString(-count));
        }
        return new Choice(new HostDeviceMemory(), String.join("; ", reasons));
    }

    private static String setting()
    {
        final String property = System.getProperty("ds4j.device");
        if (property != null)
        {
            return property;
        }
        final String env = System.getenv("DS4J_DEVICE");
        return env == null ? "auto" : env;
    }
}

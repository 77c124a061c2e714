package io.ds4j.system;

import io.ds4j.device.DeviceMemories;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;

/**
 * The device scenarios on a real GPU (CUDA through FFM), where one is found: the CUDA runtime library loads and sees
 * a device. Elsewhere every scenario is skipped, with the probe's reason. Run with {@code bin/gpu-tests}, or
 * {@code mvn verify -pl system-tests -am -Dtest='*GpuIT'}.
 */
class DeviceObjectGpuIT extends DeviceScenarios
{
    private static String noGpu;

    @BeforeAll
    static void probe()
    {
        final DeviceMemories.Choice probe = DeviceMemories.probeCuda();
        probe.memory().close();
        noGpu = probe.memory().isAccelerator() ? null : probe.reason();
        if (noGpu != null)
        {
            System.out.println("DeviceObjectGpuIT: every scenario is skipped: " + noGpu);
        }
    }

    @Override
    void assumeDevice()
    {
        Assumptions.assumeTrue(noGpu == null, () -> "no GPU: " + noGpu);
    }

    @Override
    String deviceMode()
    {
        return "cuda";
    }
}

package io.ds4j.system;

/**
 * The device scenarios on the host implementation of device memory: every path of device objects, in every CI run,
 * with real worker and client processes (IPC through memfd handles, as CUDA IPC on a GPU).
 */
class DeviceObjectTest extends DeviceScenarios
{
    @Override
    String deviceMode()
    {
        return "host";
    }
}

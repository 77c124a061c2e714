package io.ds4j.device;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DeviceMemoriesTest
{
    @Test
    void hostIsChosenWhenAskedFor()
    {
        final DeviceMemories.Choice choice = DeviceMemories.choose("host");
        assertFalse(choice.memory().isAccelerator());
        choice.memory().close();
    }

    /** Runs everywhere: with a GPU the probe finds it; without one it says why, naming what it tried. */
    @Test
    void theProbeSaysWhyItFellBackToHost()
    {
        final DeviceMemories.Choice choice = DeviceMemories.probeCuda();
        if (!choice.memory().isAccelerator())
        {
            System.out.println("CUDA probe: " + choice.reason());
            assertTrue(choice.reason().contains("libcudart") || choice.reason().contains("native access"),
                choice.reason());
        }
        choice.memory().close();
    }

    @Test
    void aCudaDemandFailsWhereThereIsNone()
    {
        final DeviceMemories.Choice probe = DeviceMemories.probeCuda();
        probe.memory().close();
        if (!probe.memory().isAccelerator())
        {
            assertThrows(DeviceException.class, () -> DeviceMemories.choose("cuda"));
        }
        assertThrows(IllegalArgumentException.class, () -> DeviceMemories.choose("tpu"));
    }
}

/*
 * A fake libnvidia-ml.so.1 for tests: the real pynvml calls these symbols, compiled against the
 * real nvml.h (PyPI nvidia-nvml-dev). Values come from the text file named by $FAKE_NVML_STATE,
 * re-read on every call, so a test changes them between samples:
 *
 *   init <code>                      nvmlInitWithFlags' return code (0 = success, 9 = driver not loaded)
 *   driver <version>
 *   gpu <util> <mem_util> <used_bytes> <total_bytes> <error_code> <pid:bytes,...|->
 *
 * One "gpu" line per device, in index order; error_code != 0 makes every call on that device
 * fail with it (15 = NVML_ERROR_GPU_IS_LOST).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include "nvml.h"

#define MAX_GPUS 16
#define MAX_PROCS 32

typedef struct {
    unsigned int util, mem_util, error, nprocs;
    unsigned long long used, total;
    unsigned int pids[MAX_PROCS];
    unsigned long long pid_mem[MAX_PROCS];
} fake_gpu;

typedef struct {
    int init_code;
    char driver[64];
    unsigned int count;
    fake_gpu gpus[MAX_GPUS];
} fake_state;

static void load(fake_state *s) {
    memset(s, 0, sizeof(*s));
    strcpy(s->driver, "550.54.15");
    const char *path = getenv("FAKE_NVML_STATE");
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f) return;
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "init %d", &s->init_code) == 1) continue;
        if (sscanf(line, "driver %63s", s->driver) == 1) continue;
        fake_gpu g;
        char procs[700] = "-";
        memset(&g, 0, sizeof g);
        if (s->count < MAX_GPUS &&
            sscanf(line, "gpu %u %u %llu %llu %u %699s", &g.util, &g.mem_util, &g.used, &g.total, &g.error, procs) >= 5) {
            char *save = NULL;
            for (char *tok = strtok_r(procs, ",", &save); tok && g.nprocs < MAX_PROCS; tok = strtok_r(NULL, ",", &save)) {
                unsigned int pid; unsigned long long mem;
                if (sscanf(tok, "%u:%llu", &pid, &mem) == 2) { g.pids[g.nprocs] = pid; g.pid_mem[g.nprocs++] = mem; }
            }
            s->gpus[s->count++] = g;
        }
    }
    fclose(f);
}

static fake_state state;
static int initialised = 0;

static nvmlReturn_t device(nvmlDevice_t handle, fake_gpu **out) {
    if (!initialised) return NVML_ERROR_UNINITIALIZED;
    load(&state);
    uintptr_t index = (uintptr_t)handle;
    if (index == 0 || index > state.count) return NVML_ERROR_INVALID_ARGUMENT;
    *out = &state.gpus[index - 1];
    return (*out)->error ? (nvmlReturn_t)(*out)->error : NVML_SUCCESS;
}

nvmlReturn_t nvmlInitWithFlags(unsigned int flags) {
    (void)flags;
    load(&state);
    if (state.init_code) return (nvmlReturn_t)state.init_code;
    initialised = 1;
    return NVML_SUCCESS;
}
nvmlReturn_t nvmlInit_v2(void) { return nvmlInitWithFlags(0); }
nvmlReturn_t nvmlShutdown(void) { initialised = 0; return NVML_SUCCESS; }

const char *nvmlErrorString(nvmlReturn_t result) {
    switch (result) {
    case NVML_SUCCESS: return "Success";
    case NVML_ERROR_UNINITIALIZED: return "Uninitialized";
    case NVML_ERROR_DRIVER_NOT_LOADED: return "Driver Not Loaded";
    case NVML_ERROR_GPU_IS_LOST: return "GPU is lost";
    case NVML_ERROR_INSUFFICIENT_SIZE: return "Insufficient Size";
    default: return "Unknown Error";
    }
}

nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length) {
    if (!initialised) return NVML_ERROR_UNINITIALIZED;
    load(&state);
    snprintf(version, length, "%s", state.driver);
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count) {
    if (!initialised) return NVML_ERROR_UNINITIALIZED;
    load(&state);
    *count = state.count;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *handle) {
    if (!initialised) return NVML_ERROR_UNINITIALIZED;
    load(&state);
    if (index >= state.count) return NVML_ERROR_INVALID_ARGUMENT;
    *handle = (nvmlDevice_t)(uintptr_t)(index + 1);
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t handle, char *name, unsigned int length) {
    fake_gpu *g; nvmlReturn_t rc = device(handle, &g);
    if (rc == NVML_SUCCESS) snprintf(name, length, "Fake GPU 80GB");
    return rc;
}

nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t handle, char *uuid, unsigned int length) {
    fake_gpu *g; nvmlReturn_t rc = device(handle, &g);
    if (rc == NVML_SUCCESS) snprintf(uuid, length, "GPU-fake-%04u", (unsigned)(uintptr_t)handle - 1);
    return rc;
}

nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t handle, nvmlUtilization_t *u) {
    fake_gpu *g; nvmlReturn_t rc = device(handle, &g);
    if (rc == NVML_SUCCESS) { u->gpu = g->util; u->memory = g->mem_util; }
    return rc;
}

nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t handle, nvmlMemory_t *m) {
    fake_gpu *g; nvmlReturn_t rc = device(handle, &g);
    if (rc == NVML_SUCCESS) { m->total = g->total; m->used = g->used; m->free = g->total - g->used; }
    return rc;
}

nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t handle, nvmlMemory_v2_t *m) {
    fake_gpu *g; nvmlReturn_t rc = device(handle, &g);
    if (rc == NVML_SUCCESS) { m->total = g->total; m->used = g->used; m->free = g->total - g->used; m->reserved = 0; }
    return rc;
}

nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t handle, unsigned int *count, nvmlProcessInfo_t *infos) {
    fake_gpu *g; nvmlReturn_t rc = device(handle, &g);
    if (rc != NVML_SUCCESS) return rc;
    if (infos == NULL || *count < g->nprocs) {
        unsigned int needed = g->nprocs;
        *count = needed;
        return needed ? NVML_ERROR_INSUFFICIENT_SIZE : NVML_SUCCESS;
    }
    for (unsigned int i = 0; i < g->nprocs; i++) {
        infos[i].pid = g->pids[i];
        infos[i].usedGpuMemory = g->pid_mem[i];
        infos[i].gpuInstanceId = 0xFFFFFFFF;
        infos[i].computeInstanceId = 0xFFFFFFFF;
    }
    *count = g->nprocs;
    return NVML_SUCCESS;
}

/*
 * A fake NVIDIA Management Library (libnvidia-ml.so.1) for tests.
 *
 * It exports the NVML entry points that nvidia-ml-py (module pynvml) and CodeCarbon call,
 * with the ABI of nvml.h, and a set of fake_nvml_* functions that tests call through
 * ctypes to script the devices: count, names, UUIDs, a power waveform over time, an
 * energy counter that is the exact integral of that waveform, unsupported features,
 * lost GPUs, counter resets, compute processes and their SM utilization, MIG instances.
 *
 * Build: gcc -shared -fPIC -Wl,-soname,libnvidia-ml.so.1 -o libnvidia-ml.so.1 fake_nvml.c -lm
 *
 * Time is CLOCK_MONOTONIC by default; fake_nvml_set_time() switches to a manual clock
 * driven by the test. The energy counter of a device is
 *     base_mj + 1000 * (W(t) - W(t_ref))
 * where W is the analytic antiderivative (J) of the device's power waveform; base_mj and
 * t_ref are re-based whenever the waveform or the clock changes, so the counter stays
 * continuous. The counter is returned in whole millijoules (floor), as NVML does.
 *
 * Per-process utilization is a piecewise schedule per (GPU, pid), each value in effect
 * from the time it was set. The driver's samples are taken every
 * PROCESS_SAMPLE_PERIOD_US, at timestamps k * period (CPU time, us); a sample covers the
 * period before its timestamp and carries the value in effect at that period's start.
 * Only the newest PROCESS_SAMPLES_KEPT samples of each process are kept. Set the manual
 * clock before scheduling utilization: schedules are in the clock's time.
 *
 * Environment variables read at the first nvmlInit of a process (for subprocesses):
 *     FAKE_NVML_COUNT       number of GPUs (default 2)
 *     FAKE_NVML_POWER_W     constant power of every GPU, W (default 100)
 *     FAKE_NVML_NO_COUNTER  1: no GPU has an energy counter (NVML_ERROR_NOT_SUPPORTED)
 *     FAKE_NVML_NAME        name of every GPU
 *     FAKE_NVML_INIT_ERROR  nvmlInit returns this NVML error code (9: driver not loaded)
 *
 * Every state access holds one mutex: ctypes releases the GIL around foreign calls, so a
 * sampler thread and a test may call in at the same time.
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EXPORT __attribute__((visibility("default")))

/* ---- The NVML ABI (nvml.h) ---------------------------------------------------------- */

typedef int nvmlReturn_t;
typedef struct nvmlDevice_st *nvmlDevice_t;

enum {
    NVML_SUCCESS = 0,
    NVML_ERROR_UNINITIALIZED = 1,
    NVML_ERROR_INVALID_ARGUMENT = 2,
    NVML_ERROR_NOT_SUPPORTED = 3,
    NVML_ERROR_NO_PERMISSION = 4,
    NVML_ERROR_NOT_FOUND = 6,
    NVML_ERROR_INSUFFICIENT_SIZE = 7,
    NVML_ERROR_DRIVER_NOT_LOADED = 9,
    NVML_ERROR_GPU_IS_LOST = 15,
    NVML_ERROR_LIB_RM_VERSION_MISMATCH = 18,
    NVML_ERROR_UNKNOWN = 999,
};

enum { NVML_VALUE_TYPE_UNSIGNED_INT = 1, NVML_VALUE_TYPE_UNSIGNED_LONG_LONG = 3 };
enum { NVML_FI_DEV_TOTAL_ENERGY_CONSUMPTION = 83, NVML_FI_DEV_POWER_INSTANT = 186 };

typedef struct {
    unsigned long long total;
    unsigned long long free;
    unsigned long long used;
} nvmlMemory_t;

typedef struct {
    unsigned int gpu;
    unsigned int memory;
} nvmlUtilization_t;

typedef struct {
    unsigned int pid;
    unsigned long long usedGpuMemory;
    unsigned int gpuInstanceId;
    unsigned int computeInstanceId;
} nvmlProcessInfo_t;

typedef union {
    double dVal;
    unsigned int uiVal;
    unsigned long ulVal;
    unsigned long long ullVal;
    long long sllVal;
    int siVal;
    unsigned short usVal;
} nvmlValue_t;

typedef struct {
    unsigned int fieldId;
    unsigned int scopeId;
    long long timestamp;
    long long latencyUsec;
    unsigned int valueType;
    nvmlReturn_t nvmlReturn;
    nvmlValue_t value;
} nvmlFieldValue_t;

typedef struct {
    unsigned int pid;
    unsigned long long timeStamp; /* CPU timestamp, us */
    unsigned int smUtil;
    unsigned int memUtil;
    unsigned int encUtil;
    unsigned int decUtil;
} nvmlProcessUtilizationSample_t;

_Static_assert(sizeof(nvmlProcessUtilizationSample_t) == 32, "a process sample is 32 bytes");
_Static_assert(sizeof(nvmlMemory_t) == 24, "nvmlMemory_t is 24 bytes");
_Static_assert(sizeof(nvmlUtilization_t) == 8, "nvmlUtilization_t is 8 bytes");
_Static_assert(sizeof(nvmlProcessInfo_t) == 24, "nvmlProcessInfo_t is 24 bytes");
_Static_assert(sizeof(nvmlFieldValue_t) == 40, "nvmlFieldValue_t is 40 bytes");

/* ---- Fake state ---------------------------------------------------------------------- */

#define MAX_GPUS 16
#define MAX_PROCS 64
#define MAX_MIGS 7
#define STR_LEN 96
#define NO_INSTANCE 0xFFFFFFFFu
#define MAX_UTIL_CHANGES 32
#define PROCESS_SAMPLE_PERIOD_US 100000ull /* 0.1 s */
#define PROCESS_SAMPLES_KEPT 100ull        /* per process: 10 s of samples */

enum wave { WAVE_CONSTANT, WAVE_SQUARE, WAVE_SINE };

typedef struct {
    char uuid[STR_LEN];
    unsigned int gpu_instance;
    unsigned int compute_instance;
    unsigned int slices; /* gpuInstanceSliceCount of its GPU instance */
} fake_mig;

/* One process's utilization schedule: value j is in effect from from_us[j] on. */
typedef struct {
    unsigned int pid;
    int nchanges;
    unsigned long long from_us[MAX_UTIL_CHANGES];
    unsigned int sm_pct[MAX_UTIL_CHANGES];
    unsigned int mem_pct[MAX_UTIL_CHANGES];
} fake_util;

typedef struct {
    unsigned int multiprocessorCount;
    unsigned int sharedCopyEngineCount;
    unsigned int sharedDecoderCount;
    unsigned int sharedEncoderCount;
    unsigned int sharedJpegCount;
    unsigned int sharedOfaCount;
    unsigned int gpuInstanceSliceCount;
    unsigned int computeInstanceSliceCount;
    unsigned long long memorySizeMB;
} nvmlDeviceAttributes_t;

typedef struct {
    char name[STR_LEN];
    char uuid[STR_LEN];
    /* Power waveform. constant: a; square: low a, high b, period, duty; sine: mean a,
     * amplitude b, period. */
    enum wave wave;
    double a_w, b_w, period_s, duty;
    double average_window_s; /* nvmlDeviceGetPowerUsage averages over this window; 0: instant */
    double counter_period_s; /* the counter only advances at multiples of this; 0: always */
    double base_mj;          /* counter value at t_ref */
    double t_ref;
    int counter_supported;
    int instant_supported;
    int power_usage_supported;
    unsigned int enforced_limit_mw; /* 0: NVML_ERROR_NOT_SUPPORTED */
    unsigned int management_limit_mw;
    nvmlReturn_t error; /* returned by every call on this device; 0: none */
    int utilization_supported;
    unsigned int util_gpu_pct, util_mem_pct;
    int memory_supported;
    unsigned long long mem_total, mem_used;
    unsigned int temperature_c;
    int compute_mode;
    int nprocs;
    nvmlProcessInfo_t procs[MAX_PROCS];
    int process_util_supported; /* 0: nvmlDeviceGetProcessUtilization is NOT_SUPPORTED */
    int nutils;
    fake_util utils[MAX_PROCS];
    int mig_mode; /* -1: not supported, 0 disabled, 1 enabled */
    unsigned int slices; /* GPU slices of the whole GPU (7 on A100/H100) */
    int nmigs;
    fake_mig migs[MAX_MIGS];
} fake_gpu;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static fake_gpu g_gpus[MAX_GPUS];
static int g_count;
static int g_initialized_state; /* defaults applied */
static int g_env_applied;
static int g_init_refs;
static nvmlReturn_t g_init_error;
static int g_manual_clock;
static double g_manual_t;

/* Call counters, one per exported NVML function. */
#define FAKE_FUNCTIONS(X)                                                                     \
    X(nvmlInit_v2)                                                                            \
    X(nvmlInitWithFlags)                                                                      \
    X(nvmlShutdown)                                                                           \
    X(nvmlErrorString)                                                                        \
    X(nvmlSystemGetDriverVersion)                                                             \
    X(nvmlSystemGetNVMLVersion)                                                               \
    X(nvmlDeviceGetCount_v2)                                                                  \
    X(nvmlDeviceGetHandleByIndex_v2)                                                          \
    X(nvmlDeviceGetHandleByUUID)                                                              \
    X(nvmlDeviceGetIndex)                                                                     \
    X(nvmlDeviceGetName)                                                                      \
    X(nvmlDeviceGetUUID)                                                                      \
    X(nvmlDeviceGetPowerUsage)                                                                \
    X(nvmlDeviceGetTotalEnergyConsumption)                                                    \
    X(nvmlDeviceGetFieldValues)                                                               \
    X(nvmlDeviceGetUtilizationRates)                                                          \
    X(nvmlDeviceGetMemoryInfo)                                                                \
    X(nvmlDeviceGetComputeRunningProcesses_v3)                                                \
    X(nvmlDeviceGetGraphicsRunningProcesses_v3)                                               \
    X(nvmlDeviceGetProcessUtilization)                                                        \
    X(nvmlDeviceGetEnforcedPowerLimit)                                                        \
    X(nvmlDeviceGetPowerManagementLimit)                                                      \
    X(nvmlDeviceGetTemperature)                                                               \
    X(nvmlDeviceGetComputeMode)                                                               \
    X(nvmlDeviceGetMigMode)                                                                   \
    X(nvmlDeviceIsMigDeviceHandle)                                                            \
    X(nvmlDeviceGetDeviceHandleFromMigDeviceHandle)                                           \
    X(nvmlDeviceGetGpuInstanceId)                                                             \
    X(nvmlDeviceGetComputeInstanceId)                                                        \
    X(nvmlDeviceGetAttributes_v2)

#define AS_ENUM(n) FN_##n,
#define AS_NAME(n) #n,
enum { FAKE_FUNCTIONS(AS_ENUM) FN_COUNT };
static const char *const g_fn_names[FN_COUNT] = {FAKE_FUNCTIONS(AS_NAME)};
static unsigned long long g_calls[FN_COUNT];

#define ENTER(n)                                                                              \
    pthread_mutex_lock(&g_lock);                                                              \
    ensure_defaults();                                                                        \
    g_calls[FN_##n]++
#define LEAVE(rc)                                                                             \
    do {                                                                                      \
        nvmlReturn_t leave_rc_ = (rc);                                                        \
        pthread_mutex_unlock(&g_lock);                                                        \
        return leave_rc_;                                                                     \
    } while (0)

/* ---- Time and waveforms --------------------------------------------------------------- */

static double real_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double now_s(void) { return g_manual_clock ? g_manual_t : real_now(); }

/* The CPU timestamp of process utilization samples, us. */
static unsigned long long now_us(void) {
    double t = now_s();
    return t <= 0.0 ? 0ull : (unsigned long long)llround(t * 1e6);
}

static const double TWO_PI = 6.283185307179586;

/* Instantaneous power at time t, W. */
static double wave_power(const fake_gpu *g, double t) {
    switch (g->wave) {
    case WAVE_SQUARE: {
        double phase = t - floor(t / g->period_s) * g->period_s;
        return phase < g->duty * g->period_s ? g->b_w : g->a_w;
    }
    case WAVE_SINE:
        return g->a_w + g->b_w * sin(TWO_PI * t / g->period_s);
    case WAVE_CONSTANT:
    default:
        return g->a_w;
    }
}

/* Antiderivative of the power waveform, J: W(t) with W(0) = 0. */
static double wave_energy(const fake_gpu *g, double t) {
    switch (g->wave) {
    case WAVE_SQUARE: {
        double period = g->period_s;
        double high_s = g->duty * period;
        double n = floor(t / period);
        double phase = t - n * period;
        double per_period = g->b_w * high_s + g->a_w * (period - high_s);
        double partial = phase < high_s ? g->b_w * phase : g->b_w * high_s + g->a_w * (phase - high_s);
        return n * per_period + partial;
    }
    case WAVE_SINE:
        return g->a_w * t + g->b_w * g->period_s / TWO_PI * (1.0 - cos(TWO_PI * t / g->period_s));
    case WAVE_CONSTANT:
    default:
        return g->a_w * t;
    }
}

/* Exact counter value at time t, mJ (before rounding). */
static double counter_mj(const fake_gpu *g, double t) {
    double value = g->base_mj + 1000.0 * (wave_energy(g, t) - wave_energy(g, g->t_ref));
    return value > 0.0 ? value : 0.0;
}

/* The counter as the driver reports it: frozen between updates every counter_period_s. */
static unsigned long long reported_mj(const fake_gpu *g, double t) {
    double p = g->counter_period_s;
    if (p > 0.0) {
        double updated = floor(t / p + 1e-9) * p; /* 0.3 / 0.1 is 2.999... */
        t = updated > g->t_ref ? updated : g->t_ref;
    }
    return (unsigned long long)floor(counter_mj(g, t));
}

/* Fold the energy so far into base_mj at time t, before the waveform or clock changes. */
static void rebase(fake_gpu *g, double t_old, double t_new) {
    g->base_mj = counter_mj(g, t_old);
    g->t_ref = t_new;
}

/* Power as nvmlDeviceGetPowerUsage reports it: instant, or averaged over a window. */
static double usage_power(const fake_gpu *g, double t) {
    double w = g->average_window_s;
    if (w <= 0.0) {
        return wave_power(g, t);
    }
    return (wave_energy(g, t) - wave_energy(g, t - w)) / w;
}

static unsigned int to_mw(double watts) {
    double mw = watts * 1000.0;
    return mw <= 0.0 ? 0u : (unsigned int)llround(mw);
}

/* ---- Defaults and environment --------------------------------------------------------- */

static void default_gpu(fake_gpu *g, int index, double t) {
    memset(g, 0, sizeof(*g));
    snprintf(g->name, STR_LEN, "NVIDIA H100 80GB HBM3");
    snprintf(g->uuid, STR_LEN, "GPU-%x0a1b2c3-4d5e-4f60-8a7b-%012x", (unsigned)(index + 1),
             (unsigned)(0xc0ffee00u + (unsigned)index));
    g->wave = WAVE_CONSTANT;
    g->a_w = 100.0;
    g->period_s = 1.0;
    g->duty = 0.5;
    g->t_ref = t;
    g->counter_supported = 1;
    g->instant_supported = 1;
    g->power_usage_supported = 1;
    g->enforced_limit_mw = 700000;
    g->management_limit_mw = 700000;
    g->utilization_supported = 1;
    g->process_util_supported = 1;
    g->memory_supported = 1;
    g->mem_total = 80ull * 1024 * 1024 * 1024;
    g->temperature_c = 40;
    g->mig_mode = 0;
    g->slices = 7;
}

static void apply_defaults(void) {
    double t = real_now();
    g_manual_clock = 0;
    g_manual_t = 0.0;
    g_count = 2;
    g_init_error = NVML_SUCCESS;
    for (int i = 0; i < MAX_GPUS; i++) {
        default_gpu(&g_gpus[i], i, t);
    }
    g_initialized_state = 1;
}

static void ensure_defaults(void) {
    if (!g_initialized_state) {
        apply_defaults();
    }
}

static void apply_environment(void) {
    const char *count = getenv("FAKE_NVML_COUNT");
    const char *power = getenv("FAKE_NVML_POWER_W");
    const char *no_counter = getenv("FAKE_NVML_NO_COUNTER");
    const char *name = getenv("FAKE_NVML_NAME");
    const char *init_error = getenv("FAKE_NVML_INIT_ERROR");
    g_env_applied = 1;
    if (count != NULL) {
        int n = atoi(count);
        g_count = n < 0 ? 0 : (n > MAX_GPUS ? MAX_GPUS : n);
    }
    for (int i = 0; i < MAX_GPUS; i++) {
        fake_gpu *g = &g_gpus[i];
        if (power != NULL) {
            g->wave = WAVE_CONSTANT;
            g->a_w = atof(power);
        }
        if (no_counter != NULL && strcmp(no_counter, "1") == 0) {
            g->counter_supported = 0;
        }
        if (name != NULL) {
            snprintf(g->name, STR_LEN, "%s", name);
        }
    }
    if (init_error != NULL) {
        g_init_error = atoi(init_error);
    }
}

/* ---- Handles ------------------------------------------------------------------------- */

static fake_gpu *as_gpu(nvmlDevice_t device) {
    uintptr_t p = (uintptr_t)device;
    uintptr_t lo = (uintptr_t)&g_gpus[0];
    uintptr_t hi = (uintptr_t)&g_gpus[g_count];
    if (p < lo || p >= hi || (p - lo) % sizeof(fake_gpu) != 0) {
        return NULL;
    }
    return (fake_gpu *)device;
}

/* A MIG handle points at a fake_mig inside its parent's migs array. */
static fake_mig *as_mig(nvmlDevice_t device, fake_gpu **parent) {
    uintptr_t p = (uintptr_t)device;
    for (int i = 0; i < g_count; i++) {
        fake_gpu *g = &g_gpus[i];
        uintptr_t lo = (uintptr_t)&g->migs[0];
        uintptr_t hi = (uintptr_t)&g->migs[g->nmigs];
        if (p >= lo && p < hi && (p - lo) % sizeof(fake_mig) == 0) {
            *parent = g;
            return (fake_mig *)device;
        }
    }
    return NULL;
}

/* Checks shared by every device query: initialized, a known GPU handle, not failing. */
static nvmlReturn_t check_gpu(nvmlDevice_t device, fake_gpu **out) {
    fake_gpu *g;
    fake_gpu *parent;
    if (g_init_refs == 0) {
        return NVML_ERROR_UNINITIALIZED;
    }
    g = as_gpu(device);
    if (g == NULL) {
        return as_mig(device, &parent) != NULL ? NVML_ERROR_NOT_SUPPORTED
                                               : NVML_ERROR_INVALID_ARGUMENT;
    }
    if (g->error != NVML_SUCCESS) {
        return g->error;
    }
    *out = g;
    return NVML_SUCCESS;
}

/* Like check_gpu, for the queries that also accept a MIG handle. */
static nvmlReturn_t check_any(nvmlDevice_t device, fake_gpu **gpu, fake_mig **mig) {
    fake_gpu *parent = NULL;
    if (g_init_refs == 0) {
        return NVML_ERROR_UNINITIALIZED;
    }
    *gpu = as_gpu(device);
    *mig = NULL;
    if (*gpu == NULL) {
        *mig = as_mig(device, &parent);
        if (*mig == NULL) {
            return NVML_ERROR_INVALID_ARGUMENT;
        }
        *gpu = parent;
    }
    return (*gpu)->error;
}

static nvmlReturn_t copy_string(char *dest, unsigned int length, const char *src) {
    if (dest == NULL) {
        return NVML_ERROR_INVALID_ARGUMENT;
    }
    if (strlen(src) + 1 > length) {
        return NVML_ERROR_INSUFFICIENT_SIZE;
    }
    memcpy(dest, src, strlen(src) + 1);
    return NVML_SUCCESS;
}

/* ---- NVML: library ------------------------------------------------------------------- */

static nvmlReturn_t init_locked(void) {
    if (!g_env_applied) {
        apply_environment();
    }
    if (g_init_error != NVML_SUCCESS) {
        return g_init_error;
    }
    g_init_refs++;
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlInitWithFlags(unsigned int flags) {
    (void)flags;
    ENTER(nvmlInitWithFlags);
    LEAVE(init_locked());
}

EXPORT nvmlReturn_t nvmlInit_v2(void) {
    ENTER(nvmlInit_v2);
    LEAVE(init_locked());
}

EXPORT nvmlReturn_t nvmlShutdown(void) {
    ENTER(nvmlShutdown);
    if (g_init_refs == 0) {
        LEAVE(NVML_ERROR_UNINITIALIZED);
    }
    g_init_refs--;
    LEAVE(NVML_SUCCESS);
}

EXPORT const char *nvmlErrorString(nvmlReturn_t result) {
    const char *text;
    pthread_mutex_lock(&g_lock);
    g_calls[FN_nvmlErrorString]++;
    pthread_mutex_unlock(&g_lock);
    switch (result) {
    case NVML_SUCCESS: text = "Success"; break;
    case NVML_ERROR_UNINITIALIZED: text = "Uninitialized"; break;
    case NVML_ERROR_INVALID_ARGUMENT: text = "Invalid Argument"; break;
    case NVML_ERROR_NOT_SUPPORTED: text = "Not Supported"; break;
    case NVML_ERROR_NOT_FOUND: text = "Not Found"; break;
    case NVML_ERROR_INSUFFICIENT_SIZE: text = "Insufficient Size"; break;
    case NVML_ERROR_DRIVER_NOT_LOADED: text = "Driver Not Loaded"; break;
    case NVML_ERROR_GPU_IS_LOST: text = "GPU is lost"; break;
    default: text = "Unknown Error"; break;
    }
    return text;
}

EXPORT nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length) {
    ENTER(nvmlSystemGetDriverVersion);
    if (g_init_refs == 0) {
        LEAVE(NVML_ERROR_UNINITIALIZED);
    }
    LEAVE(copy_string(version, length, "550.127.05"));
}

EXPORT nvmlReturn_t nvmlSystemGetNVMLVersion(char *version, unsigned int length) {
    ENTER(nvmlSystemGetNVMLVersion);
    LEAVE(copy_string(version, length, "12.550.127.05"));
}

/* ---- NVML: enumeration --------------------------------------------------------------- */

EXPORT nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count) {
    ENTER(nvmlDeviceGetCount_v2);
    if (g_init_refs == 0) {
        LEAVE(NVML_ERROR_UNINITIALIZED);
    }
    if (count == NULL) {
        LEAVE(NVML_ERROR_INVALID_ARGUMENT);
    }
    *count = (unsigned int)g_count;
    LEAVE(NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device) {
    ENTER(nvmlDeviceGetHandleByIndex_v2);
    if (g_init_refs == 0) {
        LEAVE(NVML_ERROR_UNINITIALIZED);
    }
    if (device == NULL || index >= (unsigned int)g_count) {
        LEAVE(NVML_ERROR_INVALID_ARGUMENT);
    }
    if (g_gpus[index].error != NVML_SUCCESS) {
        LEAVE(g_gpus[index].error);
    }
    *device = (nvmlDevice_t)&g_gpus[index];
    LEAVE(NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetHandleByUUID(const char *uuid, nvmlDevice_t *device) {
    ENTER(nvmlDeviceGetHandleByUUID);
    if (g_init_refs == 0) {
        LEAVE(NVML_ERROR_UNINITIALIZED);
    }
    if (uuid == NULL || device == NULL) {
        LEAVE(NVML_ERROR_INVALID_ARGUMENT);
    }
    for (int i = 0; i < g_count; i++) {
        fake_gpu *g = &g_gpus[i];
        if (strcmp(g->uuid, uuid) == 0) {
            *device = (nvmlDevice_t)g;
            LEAVE(g->error);
        }
        for (int m = 0; m < g->nmigs; m++) {
            if (strcmp(g->migs[m].uuid, uuid) == 0) {
                *device = (nvmlDevice_t)&g->migs[m];
                LEAVE(g->error);
            }
        }
    }
    LEAVE(NVML_ERROR_NOT_FOUND);
}

EXPORT nvmlReturn_t nvmlDeviceGetIndex(nvmlDevice_t device, unsigned int *index) {
    fake_gpu *g = NULL;
    nvmlReturn_t rc;
    ENTER(nvmlDeviceGetIndex);
    rc = check_gpu(device, &g);
    if (rc == NVML_SUCCESS) {
        *index = (unsigned int)(g - g_gpus);
    }
    LEAVE(rc);
}

EXPORT nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length) {
    fake_gpu *g = NULL;
    nvmlReturn_t rc;
    ENTER(nvmlDeviceGetName);
    rc = check_gpu(device, &g);
    LEAVE(rc != NVML_SUCCESS ? rc : copy_string(name, length, g->name));
}

EXPORT nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char *uuid, unsigned int length) {
    fake_gpu *g = NULL;
    fake_mig *mig = NULL;
    nvmlReturn_t rc;
    ENTER(nvmlDeviceGetUUID);
    rc = check_any(device, &g, &mig);
    if (rc != NVML_SUCCESS) {
        LEAVE(rc);
    }
    LEAVE(copy_string(uuid, length, mig != NULL ? mig->uuid : g->uuid));
}

/* ---- NVML: power and energy ---------------------------------------------------------- */

EXPORT nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int *power_mw) {
    fake_gpu *g = NULL;
    nvmlReturn_t rc;
    ENTER(nvmlDeviceGetPowerUsage);
    rc = check_gpu(device, &g);
    if (rc == NVML_SUCCESS && !g->power_usage_supported) {
        rc = NVML_ERROR_NOT_SUPPORTED;
    }
    if (rc == NVML_SUCCESS) {
        *power_mw = to_mw(usage_power(g, now_s()));
    }
    LEAVE(rc);
}

EXPORT nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t device,
                                                        unsigned long long *energy_mj) {
    fake_gpu *g = NULL;
    nvmlReturn_t rc;
    ENTER(nvmlDeviceGetTotalEnergyConsumption);
    rc = check_gpu(device, &g);
    if (rc == NVML_SUCCESS && !g->counter_supported) {
        rc = NVML_ERROR_NOT_SUPPORTED;
    }
    if (rc == NVML_SUCCESS) {
        *energy_mj = reported_mj(g, now_s());
    }
    LEAVE(rc);
}

static void fill_field(const fake_gpu *g, nvmlFieldValue_t *v, double t) {
    v->timestamp = (long long)(t * 1e6);
    v->latencyUsec = 0;
    v->nvmlReturn = NVML_ERROR_NOT_SUPPORTED;
    if (v->fieldId == NVML_FI_DEV_POWER_INSTANT && g->instant_supported) {
        v->valueType = NVML_VALUE_TYPE_UNSIGNED_INT;
        v->value.uiVal = to_mw(wave_power(g, t));
        v->nvmlReturn = NVML_SUCCESS;
    } else if (v->fieldId == NVML_FI_DEV_TOTAL_ENERGY_CONSUMPTION && g->counter_supported) {
        v->valueType = NVML_VALUE_TYPE_UNSIGNED_LONG_LONG;
        v->value.ullVal = reported_mj(g, t);
        v->nvmlReturn = NVML_SUCCESS;
    }
}

EXPORT nvmlReturn_t nvmlDeviceGetFieldValues(nvmlDevice_t device, int count,
                                             nvmlFieldValue_t *values) {
    fake_gpu *g = NULL;
    nvmlReturn_t rc;
    double t;
    ENTER(nvmlDeviceGetFieldValues);
    rc = check_gpu(device, &g);
    if (rc != NVML_SUCCESS) {
        LEAVE(rc);
    }
    if (count < 0 || (count > 0 && values == NULL)) {
        LEAVE(NVML_ERROR_INVALID_ARGUMENT);
    }
    t = now_s();
    for (int i = 0; i < count; i++) {
        fill_field(g, &values[i], t);
    }
    LEAVE(NVML_SUCCESS);
}

static nvmlReturn_t read_limit(nvmlDevice_t device, unsigned int *limit_mw, int enforced) {
    fake_gpu *g = NULL;
    nvmlReturn_t rc = check_gpu(device, &g);
    unsigned int value;
    if (rc != NVML_SUCCESS) {
        return rc;
    }
    value = enforced ? g->enforced_limit_mw : g->management_limit_mw;
    if (value == 0) {
        return NVML_ERROR_NOT_SUPPORTED;
    }
    if (limit_mw == NULL) {
        return NVML_ERROR_INVALID_ARGUMENT;
    }
    *limit_mw = value;
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetEnforcedPowerLimit(nvmlDevice_t device, unsigned int *limit) {
    ENTER(nvmlDeviceGetEnforcedPowerLimit);
    LEAVE(read_limit(device, limit, 1));
}

EXPORT nvmlReturn_t nvmlDeviceGetPowerManagementLimit(nvmlDevice_t device, unsigned int *limit) {
    ENTER(nvmlDeviceGetPowerManagementLimit);
    LEAVE(read_limit(device, limit, 0));
}

/* ---- NVML: utilization, memory, temperature, mode ------------------------------------ */

EXPORT nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t device, nvmlUtilization_t *util) {
    fake_gpu *g = NULL;
    nvmlReturn_t rc;
    ENTER(nvmlDeviceGetUtilizationRates);
    rc = check_gpu(device, &g);
    if (rc == NVML_SUCCESS && !g->utilization_supported) {
        rc = NVML_ERROR_NOT_SUPPORTED;
    }
    if (rc == NVML_SUCCESS) {
        util->gpu = g->util_gpu_pct;
        util->memory = g->util_mem_pct;
    }
    LEAVE(rc);
}

EXPORT nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *memory) {
    fake_gpu *g = NULL;
    nvmlReturn_t rc;
    ENTER(nvmlDeviceGetMemoryInfo);
    rc = check_gpu(device, &g);
    if (rc == NVML_SUCCESS && !g->memory_supported) {
        rc = NVML_ERROR_NOT_SUPPORTED;
    }
    if (rc == NVML_SUCCESS) {
        memory->total = g->mem_total;
        memory->used = g->mem_used;
        memory->free = g->mem_total - g->mem_used;
    }
    LEAVE(rc);
}

EXPORT nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t device, int sensor,
                                             unsigned int *temp) {
    fake_gpu *g = NULL;
    nvmlReturn_t rc;
    ENTER(nvmlDeviceGetTemperature);
    rc = check_gpu(device, &g);
    if (rc == NVML_SUCCESS && (sensor != 0 || temp == NULL)) {
        rc = NVML_ERROR_INVALID_ARGUMENT;
    }
    if (rc == NVML_SUCCESS) {
        *temp = g->temperature_c;
    }
    LEAVE(rc);
}

EXPORT nvmlReturn_t nvmlDeviceGetComputeMode(nvmlDevice_t device, int *mode) {
    fake_gpu *g = NULL;
    nvmlReturn_t rc;
    ENTER(nvmlDeviceGetComputeMode);
    rc = check_gpu(device, &g);
    if (rc == NVML_SUCCESS) {
        *mode = g->compute_mode;
    }
    LEAVE(rc);
}

/* ---- NVML: processes ----------------------------------------------------------------- */

static nvmlReturn_t list_processes(const nvmlProcessInfo_t *procs, int n, unsigned int *count,
                                   nvmlProcessInfo_t *infos) {
    if (count == NULL) {
        return NVML_ERROR_INVALID_ARGUMENT;
    }
    if (n == 0) {
        *count = 0;
        return NVML_SUCCESS;
    }
    if (infos == NULL || *count < (unsigned int)n) {
        *count = (unsigned int)n;
        return NVML_ERROR_INSUFFICIENT_SIZE;
    }
    memcpy(infos, procs, sizeof(nvmlProcessInfo_t) * (size_t)n);
    *count = (unsigned int)n;
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t device,
                                                            unsigned int *count,
                                                            nvmlProcessInfo_t *infos) {
    fake_gpu *g = NULL;
    nvmlReturn_t rc;
    ENTER(nvmlDeviceGetComputeRunningProcesses_v3);
    rc = check_gpu(device, &g);
    LEAVE(rc != NVML_SUCCESS ? rc : list_processes(g->procs, g->nprocs, count, infos));
}

EXPORT nvmlReturn_t nvmlDeviceGetGraphicsRunningProcesses_v3(nvmlDevice_t device,
                                                             unsigned int *count,
                                                             nvmlProcessInfo_t *infos) {
    fake_gpu *g = NULL;
    nvmlReturn_t rc;
    ENTER(nvmlDeviceGetGraphicsRunningProcesses_v3);
    rc = check_gpu(device, &g);
    LEAVE(rc != NVML_SUCCESS ? rc : list_processes(NULL, 0, count, infos));
}

/* The samples of one schedule newer than last_seen_us, up to now; written to out (when
 * not NULL) from position n. Returns the new position. */
static unsigned int util_samples(const fake_util *u, unsigned long long last_seen_us,
                                 unsigned long long now, nvmlProcessUtilizationSample_t *out,
                                 unsigned int n) {
    const unsigned long long period = PROCESS_SAMPLE_PERIOD_US;
    unsigned long long k_now = now / period;
    unsigned long long k = (u->from_us[0] + period - 1) / period + 1; /* first period after */
    int j = 0;
    if (k_now >= PROCESS_SAMPLES_KEPT && k < k_now - PROCESS_SAMPLES_KEPT + 1) {
        k = k_now - PROCESS_SAMPLES_KEPT + 1;
    }
    if (k < last_seen_us / period + 1) {
        k = last_seen_us / period + 1;
    }
    for (; k <= k_now; k++) {
        unsigned long long start = (k - 1) * period;
        while (j + 1 < u->nchanges && u->from_us[j + 1] <= start) {
            j++;
        }
        if (out != NULL) {
            nvmlProcessUtilizationSample_t *sample = &out[n];
            memset(sample, 0, sizeof(*sample));
            sample->pid = u->pid;
            sample->timeStamp = k * period;
            sample->smUtil = u->sm_pct[j];
            sample->memUtil = u->mem_pct[j];
        }
        n++;
    }
    return n;
}

/* Every process's samples newer than last_seen_us; out may be NULL (count only). */
static unsigned int process_samples(const fake_gpu *g, unsigned long long last_seen_us,
                                    nvmlProcessUtilizationSample_t *out) {
    unsigned long long now = now_us();
    unsigned int n = 0;
    for (int p = 0; p < g->nutils; p++) {
        n = util_samples(&g->utils[p], last_seen_us, now, out, n);
    }
    return n;
}

/* NVML's protocol: called with utilization NULL it returns INSUFFICIENT_SIZE and the count
 * needed; NOT_FOUND when no sample is newer than lastSeenTimeStamp; NOT_SUPPORTED where
 * the GPU cannot sample per-process utilization (MIG mode, many consumer GPUs). */
EXPORT nvmlReturn_t nvmlDeviceGetProcessUtilization(nvmlDevice_t device,
                                                    nvmlProcessUtilizationSample_t *utilization,
                                                    unsigned int *processSamplesCount,
                                                    unsigned long long lastSeenTimeStamp) {
    fake_gpu *g = NULL;
    nvmlReturn_t rc;
    unsigned int n;
    ENTER(nvmlDeviceGetProcessUtilization);
    rc = check_gpu(device, &g);
    if (rc == NVML_SUCCESS && (!g->process_util_supported || g->mig_mode == 1)) {
        rc = NVML_ERROR_NOT_SUPPORTED;
    }
    if (rc == NVML_SUCCESS && processSamplesCount == NULL) {
        rc = NVML_ERROR_INVALID_ARGUMENT;
    }
    if (rc != NVML_SUCCESS) {
        LEAVE(rc);
    }
    n = process_samples(g, lastSeenTimeStamp, NULL);
    if (n == 0) {
        LEAVE(NVML_ERROR_NOT_FOUND);
    }
    if (utilization == NULL || *processSamplesCount < n) {
        *processSamplesCount = n;
        LEAVE(NVML_ERROR_INSUFFICIENT_SIZE);
    }
    *processSamplesCount = process_samples(g, lastSeenTimeStamp, utilization);
    LEAVE(NVML_SUCCESS);
}

/* ---- NVML: MIG ----------------------------------------------------------------------- */

EXPORT nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t device, unsigned int *current,
                                         unsigned int *pending) {
    fake_gpu *g = NULL;
    nvmlReturn_t rc;
    ENTER(nvmlDeviceGetMigMode);
    rc = check_gpu(device, &g);
    if (rc == NVML_SUCCESS && g->mig_mode < 0) {
        rc = NVML_ERROR_NOT_SUPPORTED;
    }
    if (rc == NVML_SUCCESS) {
        *current = (unsigned int)g->mig_mode;
        *pending = (unsigned int)g->mig_mode;
    }
    LEAVE(rc);
}

EXPORT nvmlReturn_t nvmlDeviceIsMigDeviceHandle(nvmlDevice_t device, unsigned int *is_mig) {
    fake_gpu *g = NULL;
    fake_mig *mig = NULL;
    nvmlReturn_t rc;
    ENTER(nvmlDeviceIsMigDeviceHandle);
    rc = check_any(device, &g, &mig);
    if (rc == NVML_SUCCESS) {
        *is_mig = mig != NULL ? 1u : 0u;
    }
    LEAVE(rc);
}

EXPORT nvmlReturn_t nvmlDeviceGetDeviceHandleFromMigDeviceHandle(nvmlDevice_t mig_device,
                                                                 nvmlDevice_t *device) {
    fake_gpu *g = NULL;
    fake_mig *mig = NULL;
    nvmlReturn_t rc;
    ENTER(nvmlDeviceGetDeviceHandleFromMigDeviceHandle);
    rc = check_any(mig_device, &g, &mig);
    if (rc == NVML_SUCCESS && mig == NULL) {
        rc = NVML_ERROR_INVALID_ARGUMENT;
    }
    if (rc == NVML_SUCCESS) {
        *device = (nvmlDevice_t)g;
    }
    LEAVE(rc);
}

static nvmlReturn_t mig_instance(nvmlDevice_t device, unsigned int *id, int compute) {
    fake_gpu *g = NULL;
    fake_mig *mig = NULL;
    nvmlReturn_t rc = check_any(device, &g, &mig);
    if (rc == NVML_SUCCESS && mig == NULL) {
        rc = NVML_ERROR_INVALID_ARGUMENT;
    }
    if (rc == NVML_SUCCESS) {
        *id = compute ? mig->compute_instance : mig->gpu_instance;
    }
    return rc;
}

EXPORT nvmlReturn_t nvmlDeviceGetGpuInstanceId(nvmlDevice_t device, unsigned int *id) {
    ENTER(nvmlDeviceGetGpuInstanceId);
    LEAVE(mig_instance(device, id, 0));
}

EXPORT nvmlReturn_t nvmlDeviceGetComputeInstanceId(nvmlDevice_t device, unsigned int *id) {
    ENTER(nvmlDeviceGetComputeInstanceId);
    LEAVE(mig_instance(device, id, 1));
}

/* A MIG device's attributes: its GPU instance's slices; on a whole GPU, all its slices. */
EXPORT nvmlReturn_t nvmlDeviceGetAttributes_v2(nvmlDevice_t device,
                                               nvmlDeviceAttributes_t *attributes) {
    fake_gpu *g = NULL;
    fake_mig *mig = NULL;
    nvmlReturn_t rc;
    ENTER(nvmlDeviceGetAttributes_v2);
    rc = check_any(device, &g, &mig);
    if (rc == NVML_SUCCESS && attributes == NULL) {
        rc = NVML_ERROR_INVALID_ARGUMENT;
    }
    if (rc == NVML_SUCCESS) {
        memset(attributes, 0, sizeof(*attributes));
        attributes->gpuInstanceSliceCount = mig != NULL ? mig->slices : g->slices;
        attributes->computeInstanceSliceCount = attributes->gpuInstanceSliceCount;
        attributes->multiprocessorCount = 132u * attributes->gpuInstanceSliceCount / 7u;
        attributes->memorySizeMB = g->mem_total / (1024ull * 1024ull);
    }
    LEAVE(rc);
}

/* ---- Test controls (fake_nvml_*) ----------------------------------------------------- */

#define CONTROL_BEGIN                                                                         \
    pthread_mutex_lock(&g_lock);                                                              \
    ensure_defaults()
#define CONTROL_END(rc)                                                                       \
    do {                                                                                      \
        int control_rc_ = (rc);                                                               \
        pthread_mutex_unlock(&g_lock);                                                        \
        return control_rc_;                                                                   \
    } while (0)
#define DEVICE_OR_FAIL(i)                                                                     \
    if ((i) < 0 || (i) >= MAX_GPUS) {                                                         \
        CONTROL_END(-1);                                                                      \
    }

/* Back to the defaults: 2 GPUs at 100 W with counters, real time, no errors, no
 * processes. Init references and call counters are kept. */
EXPORT int fake_nvml_reset(void) {
    CONTROL_BEGIN;
    apply_defaults();
    CONTROL_END(0);
}

EXPORT int fake_nvml_set_count(int count) {
    CONTROL_BEGIN;
    if (count < 0 || count > MAX_GPUS) {
        CONTROL_END(-1);
    }
    g_count = count;
    CONTROL_END(0);
}

EXPORT int fake_nvml_set_init_error(int code) {
    CONTROL_BEGIN;
    g_init_error = code;
    CONTROL_END(0);
}

EXPORT int fake_nvml_set_name(int i, const char *name) {
    CONTROL_BEGIN;
    DEVICE_OR_FAIL(i);
    snprintf(g_gpus[i].name, STR_LEN, "%s", name);
    CONTROL_END(0);
}

EXPORT int fake_nvml_set_uuid(int i, const char *uuid) {
    CONTROL_BEGIN;
    DEVICE_OR_FAIL(i);
    snprintf(g_gpus[i].uuid, STR_LEN, "%s", uuid);
    CONTROL_END(0);
}

static void set_wave(fake_gpu *g, enum wave wave, double a_w, double b_w, double period_s,
                     double duty) {
    double t = now_s();
    rebase(g, t, t);
    g->wave = wave;
    g->a_w = a_w;
    g->b_w = b_w;
    g->period_s = period_s;
    g->duty = duty;
}

EXPORT int fake_nvml_set_constant(int i, double power_w) {
    CONTROL_BEGIN;
    DEVICE_OR_FAIL(i);
    set_wave(&g_gpus[i], WAVE_CONSTANT, power_w, 0.0, 1.0, 0.5);
    CONTROL_END(0);
}

/* high_w during the first duty * period_s of every period (phase 0 at t = 0), else low_w. */
EXPORT int fake_nvml_set_square_wave(int i, double low_w, double high_w, double period_s,
                                     double duty) {
    CONTROL_BEGIN;
    DEVICE_OR_FAIL(i);
    if (period_s <= 0.0 || duty < 0.0 || duty > 1.0) {
        CONTROL_END(-2);
    }
    set_wave(&g_gpus[i], WAVE_SQUARE, low_w, high_w, period_s, duty);
    CONTROL_END(0);
}

/* mean_w + amplitude_w * sin(2 pi t / period_s). */
EXPORT int fake_nvml_set_sine(int i, double mean_w, double amplitude_w, double period_s) {
    CONTROL_BEGIN;
    DEVICE_OR_FAIL(i);
    if (period_s <= 0.0) {
        CONTROL_END(-2);
    }
    set_wave(&g_gpus[i], WAVE_SINE, mean_w, amplitude_w, period_s, 0.5);
    CONTROL_END(0);
}

EXPORT int fake_nvml_set_average_window(int i, double window_s) {
    CONTROL_BEGIN;
    DEVICE_OR_FAIL(i);
    g_gpus[i].average_window_s = window_s > 0.0 ? window_s : 0.0;
    CONTROL_END(0);
}

/* The counter advances only every period_s (the sensor's update period); 0: continuously. */
EXPORT int fake_nvml_set_counter_update_period(int i, double period_s) {
    CONTROL_BEGIN;
    DEVICE_OR_FAIL(i);
    g_gpus[i].counter_period_s = period_s > 0.0 ? period_s : 0.0;
    CONTROL_END(0);
}

/* Switch to (or move) the manual clock. Time spent on the real clock is kept. */
EXPORT int fake_nvml_set_time(double t_s) {
    CONTROL_BEGIN;
    if (!g_manual_clock) {
        double t_old = real_now();
        for (int i = 0; i < MAX_GPUS; i++) {
            rebase(&g_gpus[i], t_old, t_s);
        }
        g_manual_clock = 1;
    }
    g_manual_t = t_s;
    CONTROL_END(0);
}

EXPORT int fake_nvml_use_real_time(void) {
    CONTROL_BEGIN;
    if (g_manual_clock) {
        double t_new = real_now();
        for (int i = 0; i < MAX_GPUS; i++) {
            rebase(&g_gpus[i], g_manual_t, t_new);
        }
        g_manual_clock = 0;
    }
    CONTROL_END(0);
}

EXPORT double fake_nvml_now(void) {
    double t;
    pthread_mutex_lock(&g_lock);
    ensure_defaults();
    t = now_s();
    pthread_mutex_unlock(&g_lock);
    return t;
}

EXPORT int fake_nvml_set_counter_supported(int i, int supported) {
    CONTROL_BEGIN;
    DEVICE_OR_FAIL(i);
    g_gpus[i].counter_supported = supported != 0;
    CONTROL_END(0);
}

EXPORT int fake_nvml_set_instant_supported(int i, int supported) {
    CONTROL_BEGIN;
    DEVICE_OR_FAIL(i);
    g_gpus[i].instant_supported = supported != 0;
    CONTROL_END(0);
}

EXPORT int fake_nvml_set_power_usage_supported(int i, int supported) {
    CONTROL_BEGIN;
    DEVICE_OR_FAIL(i);
    g_gpus[i].power_usage_supported = supported != 0;
    CONTROL_END(0);
}

/* 0 makes both limit queries return NVML_ERROR_NOT_SUPPORTED. */
EXPORT int fake_nvml_set_power_limit(int i, unsigned int limit_mw) {
    CONTROL_BEGIN;
    DEVICE_OR_FAIL(i);
    g_gpus[i].enforced_limit_mw = limit_mw;
    g_gpus[i].management_limit_mw = limit_mw;
    CONTROL_END(0);
}

/* Every call on the device returns this code from now on; 0 clears it. */
EXPORT int fake_nvml_set_error(int i, int code) {
    CONTROL_BEGIN;
    DEVICE_OR_FAIL(i);
    g_gpus[i].error = code;
    CONTROL_END(0);
}

EXPORT int fake_nvml_set_lost(int i, int lost) {
    CONTROL_BEGIN;
    DEVICE_OR_FAIL(i);
    g_gpus[i].error = lost ? NVML_ERROR_GPU_IS_LOST : NVML_SUCCESS;
    CONTROL_END(0);
}

/* Driver reload: the counter restarts from 0 now. */
EXPORT int fake_nvml_reset_counter(int i) {
    double t;
    CONTROL_BEGIN;
    DEVICE_OR_FAIL(i);
    t = now_s();
    g_gpus[i].base_mj = 0.0;
    g_gpus[i].t_ref = t;
    CONTROL_END(0);
}

/* Move the counter by delta_mj (negative: backwards, a glitch); it never goes below 0. */
EXPORT int fake_nvml_shift_counter(int i, double delta_mj) {
    double t;
    CONTROL_BEGIN;
    DEVICE_OR_FAIL(i);
    t = now_s();
    rebase(&g_gpus[i], t, t);
    g_gpus[i].base_mj += delta_mj;
    if (g_gpus[i].base_mj < 0.0) {
        g_gpus[i].base_mj = 0.0;
    }
    CONTROL_END(0);
}

EXPORT int fake_nvml_add_process(int i, unsigned int pid, unsigned long long used_bytes) {
    nvmlProcessInfo_t *p;
    CONTROL_BEGIN;
    DEVICE_OR_FAIL(i);
    if (g_gpus[i].nprocs >= MAX_PROCS) {
        CONTROL_END(-2);
    }
    p = &g_gpus[i].procs[g_gpus[i].nprocs++];
    p->pid = pid;
    p->usedGpuMemory = used_bytes;
    p->gpuInstanceId = NO_INSTANCE;
    p->computeInstanceId = NO_INSTANCE;
    CONTROL_END(0);
}

EXPORT int fake_nvml_clear_processes(int i) {
    CONTROL_BEGIN;
    DEVICE_OR_FAIL(i);
    g_gpus[i].nprocs = 0;
    CONTROL_END(0);
}

/* Process pid on GPU i runs at sm_pct (and mem_pct) from now on; its samples start now. */
EXPORT int fake_nvml_set_process_utilization(int i, unsigned int pid, unsigned int sm_pct,
                                             unsigned int mem_pct) {
    fake_gpu *g;
    fake_util *u = NULL;
    unsigned long long t;
    CONTROL_BEGIN;
    DEVICE_OR_FAIL(i);
    if (sm_pct > 100 || mem_pct > 100) {
        CONTROL_END(-2);
    }
    g = &g_gpus[i];
    t = now_us();
    for (int p = 0; p < g->nutils; p++) {
        if (g->utils[p].pid == pid) {
            u = &g->utils[p];
        }
    }
    if (u == NULL) {
        if (g->nutils >= MAX_PROCS) {
            CONTROL_END(-2);
        }
        u = &g->utils[g->nutils++];
        memset(u, 0, sizeof(*u));
        u->pid = pid;
    }
    while (u->nchanges > 0 && u->from_us[u->nchanges - 1] >= t) {
        u->nchanges--; /* set again at the same instant (or later): the new value wins */
    }
    if (u->nchanges >= MAX_UTIL_CHANGES) {
        CONTROL_END(-3);
    }
    u->from_us[u->nchanges] = t;
    u->sm_pct[u->nchanges] = sm_pct;
    u->mem_pct[u->nchanges] = mem_pct;
    u->nchanges++;
    CONTROL_END(0);
}

/* supported 0: nvmlDeviceGetProcessUtilization returns NVML_ERROR_NOT_SUPPORTED. */
EXPORT int fake_nvml_set_process_utilization_supported(int i, int supported) {
    CONTROL_BEGIN;
    DEVICE_OR_FAIL(i);
    g_gpus[i].process_util_supported = supported != 0;
    CONTROL_END(0);
}

/* supported 0: nvmlDeviceGetUtilizationRates returns NVML_ERROR_NOT_SUPPORTED. */
EXPORT int fake_nvml_set_utilization(int i, int supported, unsigned int gpu_pct,
                                     unsigned int mem_pct) {
    CONTROL_BEGIN;
    DEVICE_OR_FAIL(i);
    g_gpus[i].utilization_supported = supported != 0;
    g_gpus[i].util_gpu_pct = gpu_pct;
    g_gpus[i].util_mem_pct = mem_pct;
    CONTROL_END(0);
}

/* supported 0: nvmlDeviceGetMemoryInfo returns NVML_ERROR_NOT_SUPPORTED. */
EXPORT int fake_nvml_set_memory(int i, int supported, unsigned long long total_bytes,
                                unsigned long long used_bytes) {
    CONTROL_BEGIN;
    DEVICE_OR_FAIL(i);
    if (used_bytes > total_bytes) {
        CONTROL_END(-2);
    }
    g_gpus[i].memory_supported = supported != 0;
    g_gpus[i].mem_total = total_bytes;
    g_gpus[i].mem_used = used_bytes;
    CONTROL_END(0);
}

/* -1: not supported (pre-Ampere), 0: disabled, 1: enabled. */
EXPORT int fake_nvml_set_mig_mode(int i, int mode) {
    CONTROL_BEGIN;
    DEVICE_OR_FAIL(i);
    g_gpus[i].mig_mode = mode < 0 ? -1 : (mode > 0 ? 1 : 0);
    CONTROL_END(0);
}

/* Adds a MIG instance with this UUID to GPU i; returns its position or a negative error. */
EXPORT int fake_nvml_add_mig(int i, const char *uuid, unsigned int gpu_instance,
                             unsigned int compute_instance) {
    fake_mig *m;
    CONTROL_BEGIN;
    DEVICE_OR_FAIL(i);
    if (g_gpus[i].nmigs >= MAX_MIGS) {
        CONTROL_END(-2);
    }
    m = &g_gpus[i].migs[g_gpus[i].nmigs];
    snprintf(m->uuid, STR_LEN, "%s", uuid);
    m->gpu_instance = gpu_instance;
    m->compute_instance = compute_instance;
    m->slices = 1;
    CONTROL_END(g_gpus[i].nmigs++);
}

/* The GPU-instance slices of MIG device m of GPU i (m < 0: of the whole GPU). */
EXPORT int fake_nvml_set_slices(int i, int m, unsigned int slices) {
    CONTROL_BEGIN;
    DEVICE_OR_FAIL(i);
    if (m >= g_gpus[i].nmigs) {
        CONTROL_END(-2);
    }
    if (m < 0) {
        g_gpus[i].slices = slices;
    } else {
        g_gpus[i].migs[m].slices = slices;
    }
    CONTROL_END(0);
}

/* The power the waveform of GPU i gives at time t, W. */
EXPORT double fake_nvml_power_w(int i, double t_s) {
    double p;
    pthread_mutex_lock(&g_lock);
    ensure_defaults();
    p = (i < 0 || i >= MAX_GPUS) ? NAN : wave_power(&g_gpus[i], t_s);
    pthread_mutex_unlock(&g_lock);
    return p;
}

/* Exact energy of the current waveform of GPU i between t0 and t1, J. */
EXPORT double fake_nvml_energy_j(int i, double t0_s, double t1_s) {
    double e;
    pthread_mutex_lock(&g_lock);
    ensure_defaults();
    e = (i < 0 || i >= MAX_GPUS) ? NAN
                                 : wave_energy(&g_gpus[i], t1_s) - wave_energy(&g_gpus[i], t0_s);
    pthread_mutex_unlock(&g_lock);
    return e;
}

/* How many times an NVML function was called since the last fake_nvml_reset_calls();
 * -1 for a name this library does not export. */
EXPORT long long fake_nvml_calls(const char *name) {
    long long n = -1;
    pthread_mutex_lock(&g_lock);
    for (int f = 0; f < FN_COUNT; f++) {
        if (strcmp(g_fn_names[f], name) == 0) {
            n = (long long)g_calls[f];
        }
    }
    pthread_mutex_unlock(&g_lock);
    return n;
}

EXPORT int fake_nvml_reset_calls(void) {
    pthread_mutex_lock(&g_lock);
    memset(g_calls, 0, sizeof(g_calls));
    pthread_mutex_unlock(&g_lock);
    return 0;
}

EXPORT int fake_nvml_init_refs(void) {
    int n;
    pthread_mutex_lock(&g_lock);
    n = g_init_refs;
    pthread_mutex_unlock(&g_lock);
    return n;
}

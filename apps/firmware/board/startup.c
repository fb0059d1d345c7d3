/* startup.c - vector table, reset handler and heap for Cortex-M firmware on
 * QEMU's MPS2 boards (mps2-an386: Cortex-M4, mps2-an500: Cortex-M7; newlib +
 * rdimon semihosting).
 *
 * newlib's own start-up (rdimon-crt0's _start) is not used: it moves the
 * stack pointer to the top of the board's real RAM (4 MiB on the AN386),
 * which would hide a firmware that does not fit the 256 KiB budget of
 * mps2-an386.ld. Instead Reset_Handler sets the stack from the linker
 * script, enables the FPU, copies .data, clears .bss and calls main; the
 * heap (_sbrk) is bounded by the stack's lower limit. After main returns it
 * reports the stack high-water mark and heap use, then exits through
 * semihosting with main's return value (QEMU's exit status).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Linker script symbols (mps2.ld). */
extern uint32_t __data_load__[], __data_start__[], __data_end__[];
extern uint32_t __bss_start__[], __bss_end__[];
extern uint32_t __stack_limit__[], __stack_top__[];
extern char __end__[];

int main(int argc, char** argv);
void initialise_monitor_handles(void); /* librdimon: opens stdin/stdout/stderr */
void __libc_init_array(void);         /* newlib: constructors (none in C, kept for form) */

void Reset_Handler(void);
void reset_c(void);
static void fault_handler(void);
static void systick_handler(void);

#define STACK_PAINT 0xDEADBEEFu
/* Armv7-M has no stack limit register and the MPU is not set up, so an
 * overflow would silently run into .bss: the run fails when less than this
 * much of the stack was left untouched (a frame may skip over words). */
#define STACK_HEADROOM 1024u

/* Armv7-M system exception vectors: initial SP, then handlers. No device
 * interrupt is enabled, so the table stops before the IRQs; SysTick counts
 * its wraps (board_ticks), and every other exception goes to the fault
 * handler, which ends the run instead of hanging. */
__attribute__((section(".isr_vector"), used))
static void (*const vector_table[16])(void) = {
    (void (*)(void))(uintptr_t)__stack_top__, /* 0: initial main stack pointer */
    Reset_Handler,                             /* 1: reset */
    fault_handler, fault_handler,              /* 2: NMI, 3: HardFault */
    fault_handler, fault_handler,              /* 4: MemManage, 5: BusFault */
    fault_handler, 0, 0, 0, 0,                 /* 6: UsageFault, 7-10: reserved */
    fault_handler, fault_handler, 0,           /* 11: SVCall, 12: DebugMonitor, 13: reserved */
    fault_handler, systick_handler,            /* 14: PendSV, 15: SysTick (board_ticks) */
};

/* Set SP (a loader may jump here without loading it from the vector table)
 * and enable the FPU before any C code runs: with -mfloat-abi=hard the
 * compiler may use FP registers anywhere, and a disabled FPU faults. */
__attribute__((naked, noreturn)) void Reset_Handler(void) {
  __asm volatile(
      "ldr   r0, =__stack_top__        \n"
      "mov   sp, r0                    \n"
      /* CPACR (0xE000ED88): full access to CP10 and CP11 (bits 20-23). */
      "ldr   r0, =0xE000ED88           \n"
      "ldr   r1, [r0]                  \n"
      "orr   r1, r1, #(0xF << 20)      \n"
      "str   r1, [r0]                  \n"
      "dsb                             \n"
      "isb                             \n"
      "b     reset_c                   \n");
}

/* Fills the unused stack below the current SP with a pattern, so that the
 * high-water mark can be measured after main. */
static void paint_stack(void) {
  uint32_t* sp;
  __asm volatile("mov %0, sp" : "=r"(sp));
  for (uint32_t* p = __stack_limit__; p < sp - 16; ++p) *p = STACK_PAINT;
}

static size_t stack_high_water(void) {
  const uint32_t* p = __stack_limit__;
  while (p < __stack_top__ && *p == STACK_PAINT) ++p;
  return (size_t)((const char*)__stack_top__ - (const char*)p);
}

static uint32_t semihost(uint32_t op, const void* arg);

/* board_ticks(): SysTick on the processor clock, extended to 64 bits by its
 * wrap interrupt. On a real part that is CPU cycles. Under QEMU's MPS2
 * boards the processor clock is 25 MHz of virtual time, which
 * -icount shift=0 makes one nanosecond per instruction: one tick is 40
 * instructions (bench/mcu_counts.py converts). */
#define SYST_CSR (*(volatile uint32_t*)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t*)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t*)0xE000E018u)
#define SYST_RELOAD 0x00FFFFFFu
static volatile uint32_t g_systick_wraps;

static void systick_handler(void) { ++g_systick_wraps; }

static void systick_start(void) {
  SYST_RVR = SYST_RELOAD;
  SYST_CVR = 0;
  SYST_CSR = 0x7u; /* processor clock, wrap interrupt, enabled */
}

uint64_t board_ticks(void) {
  uint32_t wraps, count;
  do { /* a wrap between the two reads: read again */
    wraps = g_systick_wraps;
    count = SYST_CVR;
  } while (wraps != g_systick_wraps);
  return (uint64_t)wraps * (SYST_RELOAD + 1u) + (SYST_RELOAD - count);
}

/* The command line QEMU passes over semihosting
 * (-semihosting-config enable=on,arg=prog,arg=...), split at spaces into
 * argv; argc 0 when there is none. */
#define MAX_ARGS 32
static char g_cmdline[1024];
static int command_line(char** argv) {
  struct {
    char* buffer;
    uint32_t length;
  } block = {g_cmdline, sizeof g_cmdline - 1};
  if (semihost(0x15 /* SYS_GET_CMDLINE */, &block) != 0) return 0;
  int argc = 0;
  g_cmdline[block.length < sizeof g_cmdline ? block.length : sizeof g_cmdline - 1] = 0;
  for (char* p = g_cmdline; *p && argc < MAX_ARGS;) {
    while (*p == ' ') *p++ = 0;
    if (!*p) break;
    argv[argc++] = p;
    while (*p && *p != ' ') ++p;
  }
  argv[argc] = 0;
  return argc;
}

static char* heap_end = __end__;

/* newlib's malloc gets memory here: from the end of .bss up to the stack's
 * lower limit (rdimon's weak _sbrk would let the heap grow into the stack). */
void* _sbrk(ptrdiff_t incr) {
  char* prev = heap_end;
  if (incr > (char*)__stack_limit__ - heap_end || incr < __end__ - heap_end) {
    errno = ENOMEM;
    return (void*)-1;
  }
  heap_end += incr;
  return prev;
}

__attribute__((noreturn)) void reset_c(void) {
  for (uint32_t *src = __data_load__, *dst = __data_start__; dst < __data_end__;) *dst++ = *src++;
  for (uint32_t* dst = __bss_start__; dst < __bss_end__;) *dst++ = 0;
  paint_stack();

  initialise_monitor_handles();
  __libc_init_array();
  systick_start();
  char* argv[MAX_ARGS + 1];
  const int argc = command_line(argv);
  int rc = main(argc, argv);

  const size_t stack_size = (size_t)((char*)__stack_top__ - (char*)__stack_limit__);
  const size_t stack_used = stack_high_water();
  printf("mcu: stack high-water %u of %u bytes, heap %u bytes\n", (unsigned)stack_used,
         (unsigned)stack_size, (unsigned)(heap_end - __end__));
  if (stack_used + STACK_HEADROOM > stack_size) {
    printf("mcu: FAIL: less than %u bytes of stack headroom (possible overflow)\n",
           STACK_HEADROOM);
    if (rc == 0) rc = 1;
  }
  exit(rc); /* flushes stdio; rdimon's _exit reports rc to QEMU over semihosting */
}

/* Semihosting call: BKPT 0xAB with the operation in r0 and its argument in
 * r1; returns what the host put in r0. */
static uint32_t semihost(uint32_t op, const void* arg) {
  register uint32_t r0 __asm("r0") = op;
  register const void* r1 __asm("r1") = arg;
  __asm volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

/* Any fault or unexpected interrupt: say so and make QEMU exit with status 1
 * (SYS_EXIT with a reason other than ApplicationExit), instead of hanging
 * until the test's timeout. Uses no stack beyond the exception frame and no
 * libc, which may be what faulted. */
static void fault_handler(void) {
  semihost(0x04 /* SYS_WRITE0 */, "mcu: FAULT (unexpected exception)\n");
  semihost(0x18 /* SYS_EXIT */, (const void*)0x20023 /* ADP_Stopped_RunTimeErrorUnknown */);
  for (;;) {
  }
}

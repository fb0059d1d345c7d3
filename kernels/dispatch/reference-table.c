/* The reference kernel table: reads canonical weights in place, needs no scratch. */
#include "bnn_kernels.h"

static size_t conv_no_weights(const bnn_conv_shape* s) { (void)s; return 0; }
static void conv_no_pack(const bnn_conv_shape* s, const bnn_word* c, void* p) { (void)s; (void)c; (void)p; }
static size_t conv_no_scratch(const bnn_conv_shape* s) { (void)s; return 0; }
static size_t gemm_no_weights(const bnn_gemm_shape* s) { (void)s; return 0; }
static void gemm_no_pack(const bnn_gemm_shape* s, const bnn_word* c, void* p) { (void)s; (void)c; (void)p; }

static void conv(const bnn_conv_shape* s, const bnn_word* input, const void* weights,
                 const bnn_output_transform* t, void* output, void* scratch) {
  (void)scratch;
  bnn_bconv2d_ref(s, input, (const bnn_word*)weights, t, output);
}

static void gemm(const bnn_gemm_shape* s, const bnn_word* a, const void* weights,
                 const bnn_output_transform* t, void* output) {
  bnn_bgemm_ref(s, a, (const bnn_word*)weights, t, output);
}

static void fconv_no_pack(const bnn_conv_shape* s, const float* c, void* p) { (void)s; (void)c; (void)p; }
static void ffc_no_pack(const bnn_gemm_shape* s, const float* c, void* p) { (void)s; (void)c; (void)p; }

static void fconv(const bnn_conv_shape* s, const float* input, const void* weights,
                  const float* bias, float clamp_min, float clamp_max, float* output,
                  void* scratch) {
  (void)scratch;
  bnn_fconv2d_ref(s, input, (const float*)weights, bias, clamp_min, clamp_max, output);
}

static void ffc(const bnn_gemm_shape* s, const float* a, const void* weights, const float* bias,
                float clamp_min, float clamp_max, float* output) {
  bnn_ffc_ref(s, a, (const float*)weights, bias, clamp_min, clamp_max, output);
}

static void iconv_no_pack(const bnn_conv_shape* s, const int8_t* c, void* p) { (void)s; (void)c; (void)p; }

static void iconv(const bnn_conv_shape* s, const int8_t* input, int32_t input_zero_point, const void* weights,
                  const bnn_output_transform* t, void* output, void* scratch) {
  (void)scratch;
  bnn_iconv2d_ref(s, input, input_zero_point, (const int8_t*)weights, t, output);
}

static const bnn_kernel_table kReference = {
    "reference",
    bnn_bitpack_f32_ref,
    bnn_bitpack_s8_ref,
    conv_no_weights,
    conv_no_pack,
    conv_no_scratch,
    conv,
    gemm_no_weights,
    gemm_no_pack,
    gemm,
    bnn_bmaxpool_ref,
    conv_no_weights,
    fconv_no_pack,
    conv_no_scratch,
    fconv,
    gemm_no_weights,
    ffc_no_pack,
    ffc,
    bnn_maxpool_f32_ref,
    bnn_avgpool_f32_ref,
    bnn_add_f32_ref,
    conv_no_weights,
    iconv_no_pack,
    conv_no_scratch,
    iconv,
    bnn_quantize_f32_ref,
    bnn_prelu_f32_ref,
};

const bnn_kernel_table* bnn_kernels_reference(void) { return &kReference; }

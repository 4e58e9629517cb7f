/* A C99 program that uses emitted models (regb: baked regression; cls: classifier), to check
 * that the headers are C and that the objects link without the C++ runtime. Prints
 *   y <values of regb_forward on fixed inputs>
 *   status <regb_train_step with NULL params> <cls_train_step> <cls_init_params>
 */
#include <stdio.h>
#include <stdlib.h>

#include "cls.h"
#include "regb.h"

int main(void) {
  enum { n = 4 };
  float x[n * REGB_IN_FEATURES], y[n * REGB_OUT_FEATURES];
  int i;
  void* ws =
      aligned_alloc(64, regb_workspace_bytes(n) > cls_workspace_bytes(n) ? regb_workspace_bytes(n)
                                                                         : cls_workspace_bytes(n));
  for (i = 0; i < n * REGB_IN_FEATURES; ++i)
    x[i] = 0.25f * (float)i - 1.0f;
  if (regb_forward(n, x, y, NULL, ws) != KILN_AOT_OK)
    return 1;
  printf("y");
  for (i = 0; i < n * REGB_OUT_FEATURES; ++i)
    printf(" %.9g", y[i]);
  {
    float* params[CLS_NUM_PARAMS];
    float* state[CLS_NUM_STATE];
    int32_t labels[n] = {0, 1, 2, 3};
    float loss = 0;
    for (i = 0; i < CLS_NUM_PARAMS; ++i)
      params[i] = calloc((size_t)cls_params[i].size, sizeof(float));
    for (i = 0; i < CLS_NUM_STATE; ++i)
      state[i] = calloc((size_t)cls_state[i].size, sizeof(float));
    cls_init_optimizer_state(state);
    printf("\nstatus %d %d %d\n", regb_train_step(n, x, y, 0.1f, NULL, NULL, NULL, ws),
           cls_train_step(n, x, labels, 0.1f, params, state, &loss, ws), cls_init_params(params));
    for (i = 0; i < CLS_NUM_PARAMS; ++i)
      free(params[i]);
    for (i = 0; i < CLS_NUM_STATE; ++i)
      free(state[i]);
  }
  free(ws);
  return 0;
}

// inception_net.h — pytorch-fid's InceptionV3 "FID" variant (mseitzer/pytorch-fid 0.3.0, use_fid_inception=True,
// output block 3): bilinear resize to 299×299 (align_corners=False), 2x − 1, then torchvision's Inception3 stem and
// Mixed_5b…Mixed_7c with the FID patches (FIDInceptionA/C/E_1: average pooling without the padded zeros;
// FIDInceptionE_2: max pooling in the pool branch) and the global average pool → (B, D) features, D = 2048.
//
// Weights: a safetensors file with torchvision Inception3 state_dict names (pt_inception-2015-12-05-*.pth
// converted, see README): `<layer>.conv.weight` + `<layer>.bn.{weight,bias,running_mean,running_var}`; `fc.*`,
// `AuxLogits.*` and `*.num_batches_tracked` are ignored. BatchNorm (eps 0.001) is folded into the convolutions at
// load. Channel counts come from the file (a reduced-width network of the same graph loads too), each checked
// against the graph. Every problem is one message naming the file and the tensor.
#ifndef DITC_INCEPTION_NET_H
#define DITC_INCEPTION_NET_H

#include "backend.h"
#include "common.h"

#define DITC_INCEPTION_SIDE 299

typedef struct ditc_inception ditc_inception;

// Loads the weights at path onto be (which must have the FID kernels: error naming the backend otherwise).
ditc_inception *ditc_inception_load(ditc_backend *be, const char *path, ditc_status *st);
void ditc_inception_free(ditc_inception *m);
int ditc_inception_dim(const ditc_inception *m); // feature width D (2048 for the real weights)
int64_t ditc_inception_params(const ditc_inception *m);
// A (B, 3, 299, 299) input tensor for ditc_inception_put / _forward (free with ditc_vt_free).
ditc_tensor *ditc_inception_input(ditc_inception *m, int64_t B);
// Slot b of in = 2·resize_299(img) − 1; img (1, 3, H, W) F32 in [0, 1] (ToTensor's uint8 / 255) on the backend.
void ditc_inception_put(ditc_inception *m, ditc_tensor *in, int64_t b, const ditc_tensor *img);
// in (B, 3, 299, 299) → feats (B, D) host floats. The intermediate activations are freed as they are consumed.
void ditc_inception_forward(ditc_inception *m, const ditc_tensor *in, float *feats);

#endif

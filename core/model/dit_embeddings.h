// dit_embeddings.h — the two fixed embeddings of the DiT (dit_embeddings.c), computed on the host exactly as
// the reference does.
#ifndef DITC_DIT_EMBEDDINGS_H
#define DITC_DIT_EMBEDDINGS_H

#include <stdint.h>

void ditc_pos_embed_2d(float *out, int dim, int grid);           // (grid², dim)
void ditc_timestep_embedding(float *out, const float *t, int n); // (n, 256), [cos | sin]

#endif

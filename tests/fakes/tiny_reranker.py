"""A tiny random cross-encoder saved to a folder, so tests run FlagEmbedding's real loading and scoring.

No model hub is reachable: the tokenizer is built from a small vocabulary with the `tokenizers`
library and saved next to the model, as a downloaded reranker folder would be.
"""

from __future__ import annotations

from pathlib import Path

WORDS = (
    "le la les de des du un une et à en pour sur personnel formation doit être formé documentée "
    "qualité lot libération produit fabrication fabricant zones production stockage contrôle "
    "conditionnement ligne vide système informatisé audit validation annexe partie chapitre"
).split()


def build_tiny_xlm_roberta(folder: Path, seed: int = 0, positions: int = 66) -> Path:
    """An XLM-RoBERTa sequence classifier (bge-reranker-v2-m3's architecture) with one label."""
    import torch
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import XLMRobertaConfig, XLMRobertaForSequenceClassification, XLMRobertaTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    pieces = [(piece, 0.0) for piece in specials] + [("▁" + word, -1.0) for word in WORDS]
    # "▁" and single letters spell any lowercase word, so no <unk> (which FlagEmbedding re-tokenizes)
    pieces += [(letter, -5.0) for letter in "▁abcdefghijklmnopqrstuvwxyzéèêàçô,.'"] + [("<mask>", 0.0)]
    backend = Tokenizer(models.Unigram(pieces, unk_id=3))
    backend.normalizer = normalizers.NFKC()
    backend.pre_tokenizer = pre_tokenizers.Metaspace()
    backend.decoder = decoders.Metaspace()
    backend.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    tokenizer = XLMRobertaTokenizerFast(
        tokenizer_object=backend, bos_token="<s>", eos_token="</s>", sep_token="</s>", cls_token="<s>",
        unk_token="<unk>", pad_token="<pad>", mask_token="<mask>",
    )
    assert tokenizer.unk_token not in tokenizer.tokenize("la libération du lot, faite par le fabricant")
    tokenizer.save_pretrained(folder)
    torch.manual_seed(seed)
    config = XLMRobertaConfig(
        vocab_size=len(pieces), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=positions, num_labels=1, pad_token_id=1,
        bos_token_id=0, eos_token_id=2, initializer_range=0.5,  # wide weights: distinct scores
    )
    XLMRobertaForSequenceClassification(config).save_pretrained(folder)
    return folder


def build_tiny_bert(folder: Path, seed: int = 0) -> Path:
    """A BERT sequence classifier with a WordPiece vocabulary."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    letters = "abcdefghijklmnopqrstuvwxyz"  # whole-word and "##" letters spell any word: no [UNK]
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, ",", ".", "'"]
    vocab += [*letters, *(f"##{c}" for c in letters)]
    # transformers 5 takes `vocab` (a dict or a path) and silently ignores the old `vocab_file`.
    tokenizer = BertTokenizerFast(vocab={token: index for index, token in enumerate(vocab)}, do_lower_case=True)
    assert tokenizer.unk_token not in tokenizer.tokenize("formation du personnel")
    tokenizer.save_pretrained(folder)
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=128, num_labels=1, initializer_range=0.5,
    )
    BertForSequenceClassification(config).save_pretrained(folder)
    return folder

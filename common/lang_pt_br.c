/* Brazilian Portuguese: the catalogue (lang.h). The summary's words are in
 * templates/pt-BR/. */
#include "lang.h"

const struct lang lang_pt_br = {
	.tag = "pt-BR",
	.months = { "janeiro", "fevereiro", "março", "abril", "maio",
	    "junho", "julho", "agosto", "setembro", "outubro", "novembro",
	    "dezembro" },
	.date_format = "{day} de {month} de {year}, {time} UTC",
	.decimal_point = ',',
	.byte = "byte", .bytes = "bytes",
	.summary_incomplete = {
	    "  Esta mensagem tem partes que o resumo não conseguiu listar:\n"
	    "  abra-a para ver tudo.\n",
	    "<li>Esta mensagem tem partes que o resumo não conseguiu listar: "
	    "abra-a para ver tudo.</li>\n" },
	.page = {
		.from = "De", .to = "Para", .cc = "Cc", .date = "Data",
		.subject = "Assunto", .no_subject = "(sem assunto)",
		.message = "Mensagem", .formatted = "Mensagem formatada",
		.images = "Imagens", .attachments = "Anexos",
		.eml = "Baixar o original (.eml) para importar no seu "
		    "programa de e-mail",
		.expires = "Esta mensagem pode ser lida até %s.",
		.keep = "Guardar por mais tempo (mais %s dias)",
		.kept = "Pronto: a mensagem será guardada por mais tempo.",
		.capped = "Este é o prazo máximo que o remetente guarda "
		    "mensagens.",
		.show_remote = "Mostrar imagens remotas nesta visualização",
		.html_title = "Mensagem formatada (isolada)",
		.no_body = "Esta mensagem não tem texto.",
		.download = "baixar",
		.headers = "Cabeçalhos da mensagem",
		.left_out = "Esta mensagem tem partes demais para mostrar "
		    "todas: mais %s não estão listadas aqui. Baixe o original "
		    "(.eml) para ver tudo.",
		.left_out_some = "Esta mensagem tem partes demais para mostrar "
		    "todas: algumas não estão listadas aqui. Baixe o original "
		    "(.eml) para ver tudo.",
		.receipt_ask = "O remetente pediu para ser avisado quando você ler esta mensagem.",
		.receipt_send = "Enviar confirmação de leitura",
		.receipt_no = "Não",
		.receipt_sent = "Pronto: uma confirmação de leitura foi enviada ao remetente.",
		.receipt_refused = "Pronto: nenhuma confirmação de leitura será enviada.",
		.receipt_decided = "Uma confirmação de leitura já foi enviada ou recusada para esta mensagem.",
		.receipt_failed = "Não foi possível enviar a confirmação de leitura agora. Tente de novo mais tarde.",
		.err_title = {
			[LANG_E404] = "Não encontrada",
			[LANG_E410] = "Não disponível",
			[LANG_E500] = "Erro no servidor",
			[LANG_E405] = "Método não permitido",
			[LANG_E413] = "Pedido grande demais",
			[LANG_E403] = "Proibido",
			[LANG_E408] = "Tempo esgotado" },
		.err_text = {
			[LANG_E404] = "Não há mensagem neste link. Confira se o "
			    "link foi copiado inteiro.",
			[LANG_E410] = "Esta mensagem expirou ou foi retirada "
			    "pelo remetente.",
			[LANG_E500] = "A mensagem não pôde ser lida porque está "
			    "danificada. O administrador do remetente foi "
			    "avisado.",
			[LANG_E405] = "Este endereço não aceita esse tipo de "
			    "pedido.",
			[LANG_E413] = "O pedido era grande demais.",
			[LANG_E403] = "O pedido não veio da página deste site.",
			[LANG_E408] = "O pedido demorou demais para chegar. "
			    "Tente de novo." },
	},
};
